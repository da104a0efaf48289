/** What a broker reports about itself in every heartbeat, as the router holds it. */

export type BrokerRole = 'master' | 'slave';

/** Status words brokers use. Others are kept and shown, and treated like `starting` (not routable). */
export type BrokerStatus = 'starting' | 'ready' | 'failed' | 'stopping';

export interface BrokerTopicQueues {
  topic: string;
  queueCount: number;
  maxOffsetsTotal: number;
}

export interface BrokerState {
  /** Instance name with member id and room, e.g. `broker-a/0@dc1`; the registry's key. */
  name: string;
  /** Broker group (one replicated log), e.g. `broker-a`. */
  group: string;
  /** 0 is the master in the group's chain. */
  memberId: number;
  room: string;
  role: BrokerRole;
  /** `host:port` clients connect to. */
  endpoint: string;
  status: BrokerStatus | (string & {});
  statusReason: string;
  writable: boolean;
  topics: BrokerTopicQueues[];
  logEndOffset: number;
  flushedOffset: number;
  startedAtMs: number;
  pid: number;
  flushMode: string;
  /** Log ranges the broker found corrupt and refuses to serve. */
  corruptRanges: Array<{ start: number; end: number; reason: string }>;
  /** async | sync:N, as the member applies it. */
  replicationMode: string;
  /** Replicas: the member they copy from. */
  upstream: string;
  /** The member's view of itself and everything downstream in its chain. */
  replication: Array<{ member: string; room: string; durableOffset: number; lagBytes: number; lagMs: number; status: string; reason: string }>;
  /** The group epoch the member's log has reached (1 before any promotion). */
  epoch: number;
  /** The role as configured; `role` is the one it acts in now (an acting master reports `master`). */
  configuredRole: BrokerRole;
  /** Why it refuses writes now ('' when writable): room-cut, lease-expired, frozen, not-leader, promoting. */
  fence: string;
  fenceReason: string;
  quarantinedBytes: number;
  quarantinedRecords: number;
}

/** A registered broker as the router sees it now. */
export interface BrokerView {
  state: BrokerState;
  firstSeenMs: number;
  lastHeartbeatMs: number;
  /** A heartbeat arrived within the broker timeout. */
  alive: boolean;
}
