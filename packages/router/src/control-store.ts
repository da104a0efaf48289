/**
 * The router's control state, shared by the routers of every room: topics and their modes, the routers
 * themselves, and which consumers of each group are alive (so every router computes the same assignment).
 * It also holds the room cut's control plane: which rooms are cut, who leads each broker group under which
 * epoch, and an audit log of every such change. Later issues add migrations and ACLs.
 *
 * Implementations: memory (unit tests), an embedded durable file (one machine, several router processes; the
 * default of `roomq local`) and Redis (routers in both rooms). One contract test suite runs against all three.
 *
 * Reads are served from a local cache, so a router keeps answering with the last known state when the backing
 * store is unreachable; it then reports itself `degraded` and refuses changes with UNAVAILABLE.
 */
import type { AuditEntry, GroupControl, MigrationGate, MigrationPhase, QueueOffset, RoomControl, RoomStatus, TopicMigration, TopicMode } from '@roomq/protocol';

// The control records travel to the SDK and CLI as well, so they are defined once, in @roomq/protocol.
export type { AuditEntry, GroupControl, MigrationGate, MigrationPhase, QueueOffset, RoomControl, RoomStatus, TopicMigration };

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
  /** Opaque detail the reporter attaches (topic migration: kind, group, settled switch); not part of membership. */
  info?: string;
}

/** A room change of applyControl: compare-and-set on the room's version (0: the room has no record yet). */
export interface RoomChange {
  room: string;
  status: RoomStatus;
  expectedVersion: number;
}

/** A group change of applyControl: compare-and-set on the group's version (0: the group has no record yet). */
export interface GroupChange {
  group: string;
  epoch: number;
  leader: string;
  frozen: boolean;
  expectedVersion: number;
}

export interface ControlTransition {
  rooms?: RoomChange[];
  groups?: GroupChange[];
  audit: { by: string; action: string; target: string; reason: string; details?: Record<string, unknown> };
}

export interface ControlTransitionOutcome {
  rooms: RoomControl[];
  groups: GroupControl[];
  audit: AuditEntry;
}

/**
 * What changed; listeners re-read what they need. `reload` means anything may have changed (e.g. after reconnect).
 * `rooms`: some room's record changed; `groups`: that group's control record changed.
 */
export type ControlChange =
  | { kind: 'topic'; topic: string }
  | { kind: 'members'; group: string }
  | { kind: 'routers' }
  | { kind: 'rooms' }
  | { kind: 'groups'; group: string }
  | { kind: 'migration'; topic: string }
  | { kind: 'reload' };

/**
 * A migration change: compare-and-set on the record's version (0: no record yet, or replace a finished one
 * whose version is given), optionally with a compare-and-set of the topic's mode in the same atomic step.
 */
export interface MigrationChange {
  topic: string;
  expectedVersion: number;
  next: Omit<TopicMigration, 'version' | 'changedAtMs' | 'changedBy' | 'reason'>;
  topicMode?: { mode: TopicMode; expectedVersion: number };
  audit: { by: string; action: string; reason: string; details?: Record<string, unknown> };
}

export interface MigrationChangeOutcome {
  migration: TopicMigration;
  /** The topic after the change, when its mode was set. */
  topic: TopicConfig | undefined;
  audit: AuditEntry;
}

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

  /** Rooms ever changed, sorted by name; a room absent here is active. Served from the cache while degraded. */
  listRooms(): Promise<RoomControl[]>;
  /** Groups ever changed, sorted by name; absent: epoch 1, the configured master leads. Cached like rooms. */
  listGroups(): Promise<GroupControl[]>;
  /** The newest `limit` audit entries, newest first (the store keeps the latest AUDIT_RETAIN_ENTRIES). */
  listAudit(limit: number): Promise<AuditEntry[]>;
  /**
   * Atomically (all or nothing, across routers) applies every room and group change, each a compare-and-set
   * on its expected version (0 = must not exist yet), and appends ONE audit entry. VERSION_CONFLICT (details:
   * `record` room|group, `name`, `currentVersion`) if any expectation fails, and then nothing changes;
   * BAD_REQUEST for a record named twice; UNAVAILABLE while degraded. Durable once it resolves.
   */
  applyControl(change: ControlTransition): Promise<ControlTransitionOutcome>;

  /** The topic's migration record (also a finished one), from the cache. */
  getMigration(topic: string): Promise<TopicMigration | undefined>;
  /** Every migration record, sorted by topic. */
  listMigrations(): Promise<TopicMigration[]>;
  /**
   * Atomically writes the migration record (compare-and-set on its version, VERSION_CONFLICT with details
   * `{ record: 'migration', currentVersion }`), sets the topic's mode when asked (compare-and-set on the topic's
   * version; TOPIC_NOT_FOUND if absent) and appends one audit entry. UNAVAILABLE while degraded.
   */
  applyMigration(change: MigrationChange): Promise<MigrationChangeOutcome>;
}
