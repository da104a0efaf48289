/**
 * The records of the shared control state that routers, the SDK and the CLI all handle: room states, group
 * leadership, the audit log and topic migrations. Routers keep them in the control store (router package);
 * clients receive them over the admin API. Wire forms are in proto/roomq/v1/admin.proto.
 */

export type RoomStatus = 'active' | 'cut';

/** A room as the control state holds it. A room without a record has never been changed and is active. */
export interface RoomControl {
  room: string;
  status: RoomStatus;
  /** Bumped by every change of this room; 1 for its first record. */
  version: number;
  changedAtMs: number;
  changedBy: string;
  reason: string;
}

/**
 * Who leads a broker group. A group without a record has epoch 1 and its configured master leads.
 * Invariant: `epoch` never decreases, and it grows with every change of `leader`.
 */
export interface GroupControl {
  group: string;
  epoch: number;
  /** Member name, e.g. `broker-a/1@dc2`. */
  leader: string;
  /** The leader refuses writes (a failback is handing over). */
  frozen: boolean;
  /** Bumped by every change of this record (freezing too); 1 for its first record. */
  version: number;
  changedAtMs: number;
  changedBy: string;
  reason: string;
}

/** One audited control change. */
export interface AuditEntry {
  /** 1, 2, 3... in the order the changes were applied; never reused. */
  seq: number;
  atMs: number;
  by: string;
  /** e.g. `room-cut`, `room-restore`, `group-freeze`, `group-failback`. */
  action: string;
  /** What the action was about: a room or a group. */
  target: string;
  reason: string;
  /** The version the change gave its first room record, else its first group record; 0 when it changed none. */
  version: number;
  details: Record<string, unknown>;
}

export type MigrationPhase = 'preparing' | 'moving-producers' | 'draining' | 'done' | 'rolled-back';

/** An offset of one queue of a topic, by broker group and queue id. */
export interface QueueOffset {
  broker: string;
  queueId: number;
  offset: number;
  /** Room the queue was served from when the offset was read. */
  room: string;
}

/**
 * One switch of producer routes and the order gate it opens (see docs/design.md, "Topic migration"): the queues
 * of the rooms producers moved into are read by each consumer group only below `caps` until that group's
 * committed offsets on the rooms they moved out of reached `barrier` (read once every producer had settled).
 */
export interface MigrationGate {
  seq: number;
  cappedRooms: string[];
  caps: QueueOffset[];
  barrierRooms: string[];
  /** Undefined until every live producer settled on this switch. */
  barrier: QueueOffset[] | undefined;
  /** Consumer groups released from this gate (their commits reached the barrier). */
  released: string[];
  openedAtMs: number;
}

/** A topic's migration between modes, durable and versioned; at most one per topic. */
export interface TopicMigration {
  topic: string;
  /** Modes as formatTopicMode writes them. */
  from: string;
  to: string;
  phase: MigrationPhase;
  paused: boolean;
  /** Going back to `from`: no producer group is moved any more. */
  rollingBack: boolean;
  /** Admitted groups (applications); `*` admits every group. */
  groups: string[];
  /** Producer groups routed by `to` now; `*` routes every producer by it, those without a group too. */
  movedGroups: string[];
  /** Bumped by every switch of producer routes; routes carry it as their migration version. */
  switchSeq: number;
  /** Gates not yet dropped, oldest first. */
  gates: MigrationGate[];
  /** Bumped by every change; 1 when started. */
  version: number;
  startedAtMs: number;
  changedAtMs: number;
  changedBy: string;
  reason: string;
}
