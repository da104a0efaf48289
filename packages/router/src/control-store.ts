/**
 * The router's control state, shared by the routers of every room: topics and their modes, the routers
 * themselves, and which consumers of each group are alive (so every router computes the same assignment).
 * Later issues add room permissions, migrations, group epochs and ACLs.
 *
 * Implementations: memory (unit tests), an embedded durable file (one machine, several router processes; the
 * default of `roomq local`) and Redis (routers in both rooms). One contract test suite runs against all three.
 *
 * Reads are served from a local cache, so a router keeps answering with the last known state when the backing
 * store is unreachable; it then reports itself `degraded` and refuses changes with UNAVAILABLE.
 */
import type { TopicMode } from '@roomq/protocol';

/** A topic as the control state holds it. */
export interface TopicConfig {
  name: string;
  /** Queues the topic has on every master broker. */
  queuesPerBroker: number;
  mode: TopicMode;
  createdAtMs: number;
  /** Bumped by every change of this topic; 1 when created. */
  version: number;
}

export interface NewTopic {
  name: string;
  queuesPerBroker: number;
  mode: TopicMode;
  createdAtMs: number;
}

export interface CreateTopicOutcome {
  /** False when a topic of that name existed already; `topic` is then the stored one, unchanged. */
  created: boolean;
  topic: TopicConfig;
}

/** A router as registered in the shared state, so status shows every room's routers. */
export interface RouterRecord {
  name: string;
  room: string;
  endpoint: string;
  lastSeenMs: number;
}

/** A live consumer of a group, as reported by the router that hears its heartbeats. */
export interface GroupMember {
  clientId: string;
  room: string;
  /** Name of the router that reported it. */
  router: string;
  lastSeenMs: number;
}

/** What changed; listeners re-read what they need. `reload` means anything may have changed (e.g. after reconnect). */
export type ControlChange = { kind: 'topic'; topic: string } | { kind: 'members'; group: string } | { kind: 'routers' } | { kind: 'reload' };

export type StoreHealth = { state: 'healthy' } | { state: 'degraded'; reason: string; sinceMs: number };

export interface ControlStore {
  /** Short name for logs and status, e.g. `file .roomq/local/control.json`, `redis 127.0.0.1:6379`, `memory`. */
  readonly description: string;
  /** Loads or connects. Fails with a clear RoomqError when the state cannot be read at all; may be called again after close(). */
  open(): Promise<void>;
  /** Releases files, connections and timers. Idempotent. */
  close(): Promise<void>;
  health(): StoreHealth;
  /**
   * Calls `listener` after every change made by this or any other router: at once for local changes, within a
   * second for others'. Also on health changes (kind `reload` when the store comes back). Returns an unsubscribe.
   */
  onChange(listener: (change: ControlChange) => void): () => void;

  getTopic(name: string): Promise<TopicConfig | undefined>;
  /**
   * Reads one topic from the backing state now, past the cache: used on a cache miss, so a topic created a
   * moment ago through another router is found instead of refused. Served from the cache while degraded.
   */
  lookupTopic(name: string): Promise<TopicConfig | undefined>;
  /** Every topic, sorted by name. */
  listTopics(): Promise<TopicConfig[]>;
  /**
   * Creates the topic unless one of that name exists, atomically across routers: of concurrent creators exactly
   * one gets `created: true`, every caller gets the topic as stored. Durable once this resolves. UNAVAILABLE
   * while degraded.
   */
  createTopicIfAbsent(topic: NewTopic): Promise<CreateTopicOutcome>;
  /**
   * Changes a topic's mode if its version is still `expectedVersion` (compare-and-set, atomic across routers),
   * bumping the version. TOPIC_NOT_FOUND if absent; VERSION_CONFLICT with details `{ currentVersion }`
   * when another change came first; UNAVAILABLE while degraded.
   */
  setTopicMode(name: string, mode: TopicMode, expectedVersion: number): Promise<TopicConfig>;

  /** Registers or refreshes this router (call about once a second). Silently skipped while degraded. */
  heartbeatRouter(router: RouterRecord): Promise<void>;
  /** Routers seen within `maxAgeMs`. */
  listRouters(maxAgeMs: number): Promise<RouterRecord[]>;

  /**
   * Replaces what `router` reports as the live members of `group` (call about once a second while it has
   * any, and once with an empty list when the last one leaves). Emits a `members` change when the set of
   * client IDs changes, not when only timestamps move. Silently skipped while degraded.
   */
  publishMembers(router: string, group: string, members: GroupMember[]): Promise<void>;
  /** Every router's members of `group` seen within `maxAgeMs`, sorted by client ID. */
  listMembers(group: string, maxAgeMs: number): Promise<GroupMember[]>;
}
