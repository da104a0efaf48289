/**
 * @roomq/router: broker registry, topics and routes.
 *
 * Decisions worth knowing before changing this package:
 * - Route queues are named by broker *group* (`broker-a`) with broker id 0, not by instance, so a queue keeps
 *   its identity (and consumers their offsets) when another member of the group is promoted.
 * - Liveness is computed from the last heartbeat on every read; the sweep timer only logs transitions.
 * - Failures travel as `status` in replies (never as gRPC errors), so RocketMQ clients see v2 codes and roomq
 *   clients recover the exact RoomqError from the `[roomq:CODE]` prefix.
 * - No live broker for a topic is HA_NOT_AVAILABLE (retriable), never an empty queue list.
 * - A client's room: the prefix of its client ID when that is a known room, else `roomByCidr` on its peer
 *   address, else the router's room. Producers get writable queues only in the room the topic mode prefers
 *   (spilling to other rooms when it has none); every other live master's queues are listed read-only.
 * - A group with no alive, ready master is read from its most caught-up ready replica (group-server.ts), under the
 *   same queue identity and never writable; assignments place such queues in the replica's room. When the master
 *   returns, reads stay on that replica until the master's heartbeat shows it has heard from it (so offsets
 *   committed there are known to the master), at most MAX_READ_HOLD_MS (read-hold.ts).
 * - Assignments are computed by every router from the shared member list (room-assignment.ts), so they agree.
 * - Watch events are hints (refetch), coalesced per stream; `version` is router-local and only grows.
 */
export { Router } from './router.js';
export type { RouterAddress, RouterStatus } from './router.js';
export {
  CLIENT_HEARTBEAT_INTERVAL_MS,
  CLIENT_MEMBER_TIMEOUT_MS,
  DEFAULT_AUTO_CREATE_TOPICS,
  DEFAULT_BROKER_TIMEOUT_INTERVALS,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_QUEUES_PER_BROKER,
  DEFAULT_ROUTER_HOST,
  DEFAULT_ROUTER_NAME,
  DEFAULT_ROUTER_PORT,
  RoomByCidrSchema,
  RouterOptionsSchema,
  TopicModeSchema,
  parseRouterOptions,
} from './router-options.js';
export type { ResolvedRouterOptions, RouterOptions } from './router-options.js';
export { DEFAULT_ROUTER_LOG_LEVEL, RouterConfigSchema, parseRouterConfig, routerOptionsFromConfig } from './router-config.js';
export type { RouterConfig } from './router-config.js';
export type {
  ControlChange,
  ControlStore,
  CreateTopicOutcome,
  GroupMember,
  NewTopic,
  RouterRecord,
  StoreHealth,
  TopicConfig,
} from './control-store.js';
export { ControlStoreConfigSchema } from './control-store-config.js';
export type { ControlStoreConfig } from './control-store-config.js';
export { createControlStore } from './control-store-factory.js';
export type { RoomCidr } from './client-placement.js';
export type { SpillStats } from './spill-tracker.js';
export { MEMBER_MAX_AGE_MS } from './route-service.js';
export { ROUTER_ALIVE_MS } from './control-sync.js';
export { WATCH_MIN_INTERVAL_MS } from './watch-stream.js';
export { CONTROL_FILE_NAME, FileControlStore } from './file-control-store.js';
export { MemoryControlStore } from './memory-control-store.js';
export { MAX_QUEUES_PER_BROKER } from './topic-catalog.js';
export type { BrokerRole, BrokerState, BrokerStatus, BrokerTopicQueues, BrokerView } from './broker-state.js';
export type { ClientView } from './client-registry.js';
export type { AuditEntry, ControlTransition, ControlTransitionOutcome, GroupChange, GroupControl, RoomChange, RoomControl, RoomStatus } from './control-store.js';
export { AUDIT_RETAIN_ENTRIES } from './control-transition.js';
export { dropRedisControlState } from './drop-redis-control-state.js';
