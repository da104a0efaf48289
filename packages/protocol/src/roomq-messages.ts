/** TypeScript shapes of proto/roomq/v1 messages as proto-loader presents them (see grpc-services.ts). */

export interface StatusMsg {
  code: number;
  message: string;
}

export interface PublishFrameMsg {
  batch_id: number;
  messages: Buffer;
}

export interface PublishAckMsg {
  batch_id: number;
  status: StatusMsg;
  results?: Buffer;
}

export interface SubscribeRequestMsg {
  group: string;
  topic: string;
  queue_id: number;
  offset: number;
  max_batch_messages?: number;
  max_batch_bytes?: number;
}

export interface RecordsFrameMsg {
  status?: StatusMsg | null;
  records?: Buffer;
  next_offset?: number;
  max_offset?: number;
}

export interface BrokerIdentityMsg {
  name: string;
  group: string;
  member_id: number;
  room: string;
  role: string;
  endpoint: string;
}

export interface TopicQueuesMsg {
  topic: string;
  queue_count: number;
  max_offsets_total?: number;
}

export interface CorruptRangeMsg {
  start: number;
  end: number;
  reason: string;
}

export interface ReplicaLagMsg {
  member: string;
  room: string;
  durable_offset: number;
  lag_bytes: number;
  lag_ms: number;
  status: string;
  /** Why the member is connecting (its last error) or diverged (the refusal); only on a member's own entry. */
  reason?: string;
}

export interface BrokerStateMsg {
  identity: BrokerIdentityMsg;
  status: string;
  status_reason?: string;
  topics?: TopicQueuesMsg[];
  log_end_offset?: number;
  flushed_offset?: number;
  started_at_ms?: number;
  pid?: number;
  writable?: boolean;
  flush_mode?: string;
  corrupt_ranges?: CorruptRangeMsg[];
  replication_mode?: string;
  upstream?: string;
  replication?: ReplicaLagMsg[];
  /** The group epoch this member's log has reached (1 before any promotion). */
  epoch?: number;
  /** master | slave as configured; `identity.role` is the role it acts in now. */
  configured_role?: string;
  /** Why writes are refused now: '' (writable) | room-cut | lease-expired | frozen | not-leader | promoting. */
  fence?: string;
  fence_reason?: string;
  quarantined_bytes?: number;
  quarantined_records?: number;
}

/** A room's state in the control store; a room never changed is active. */
export interface RoomControlMsg {
  room: string;
  /** active | cut */
  status: string;
  version: number;
  changed_at_ms?: number;
  changed_by?: string;
  reason?: string;
}

/** Who leads a broker group; a group never changed has epoch 1 and its configured master as leader. */
export interface GroupControlMsg {
  group: string;
  epoch: number;
  leader: string;
  frozen?: boolean;
  version: number;
  changed_at_ms?: number;
  changed_by?: string;
  reason?: string;
}

export interface GroupMemberEndpointMsg {
  name: string;
  room: string;
  endpoint: string;
  alive?: boolean;
  flushed_offset?: number;
  configured_role?: string;
}

export interface TopicConfigMsg {
  name: string;
  queues_per_broker: number;
  created_at_ms?: number;
  /** active-active | home:<room> */
  mode?: string;
  version?: number;
}

export interface BrokerHeartbeatRequestMsg {
  state: BrokerStateMsg;
}

export interface BrokerHeartbeatReplyMsg {
  status: StatusMsg;
  heartbeat_interval_ms?: number;
  topics?: TopicConfigMsg[];
  /** Write lease in ms from when the heartbeat was sent (the broker caps it at its writeLeaseMs). */
  lease_ms?: number;
  rooms?: RoomControlMsg[];
  /** The broker's group; absent: epoch 1, the configured master leads. */
  group?: GroupControlMsg;
  members?: GroupMemberEndpointMsg[];
  /** rooms/group are authoritative; false: ignore them. */
  control_known?: boolean;
  /** The router reads the shared control state now. */
  control_healthy?: boolean;
  router_room?: string;
}

export interface GetTopicRequestMsg {
  name: string;
  create_if_missing?: boolean;
}

export interface GetTopicReplyMsg {
  status: StatusMsg;
  topic?: TopicConfigMsg | null;
}

export interface CreateTopicRequestMsg {
  name: string;
  queues_per_broker?: number;
  mode?: string;
}

export interface CreateTopicReplyMsg {
  status: StatusMsg;
  topic?: TopicConfigMsg | null;
  created?: boolean;
}

export interface ListTopicsReplyMsg {
  status: StatusMsg;
  topics?: TopicConfigMsg[];
}

export interface BrokerViewMsg {
  state: BrokerStateMsg;
  last_heartbeat_ms: number;
  alive: boolean;
}

export interface RouterViewMsg {
  name: string;
  room: string;
  endpoint: string;
  last_seen_ms?: number;
  alive?: boolean;
}

export interface ClusterStatusReplyMsg {
  status: StatusMsg;
  router_name: string;
  room: string;
  brokers?: BrokerViewMsg[];
  topic_count?: number;
  routers?: RouterViewMsg[];
  control_store?: string;
  control_store_health?: string;
}

export interface RouteQueueMsg {
  topic: string;
  queue_id: number;
  broker_group: string;
  broker_name: string;
  room: string;
  endpoint: string;
  writable: boolean;
  readable: boolean;
  /** Topic migration: the consumer reads only offsets below read_limit. */
  capped?: boolean;
  read_limit?: number;
  /** The group epoch the serving instance's log has reached. */
  epoch?: number;
}

export interface GetRouteRequestMsg {
  topic: string;
  /** The producer's group; a migrating topic routes admitted groups by its new mode. */
  producer_group?: string;
}

export interface GetRouteReplyMsg {
  status: StatusMsg;
  queues?: RouteQueueMsg[];
  client_room?: string;
  mode?: string;
  preferred_room?: string;
  spilled?: boolean;
  version?: number;
  /** The topic migration switch this route follows; 0 or absent: none. */
  migration_version?: number;
}

export interface GetAssignmentRequestMsg {
  topic: string;
  group: string;
}

export interface GetAssignmentReplyMsg {
  status: StatusMsg;
  queues?: RouteQueueMsg[];
  version?: number;
  members?: number;
  /** The migration switch the read limits follow (0: none). */
  migration_version?: number;
}

export interface ConsumerGroupInterestMsg {
  group: string;
  topics: string[];
}

export interface ProducerTopicMsg {
  topic: string;
  settled_version?: number;
}

export interface ClientHeartbeatRequestMsg {
  client_id: string;
  consumers?: ConsumerGroupInterestMsg[];
  producer_group?: string;
  producer_topics?: ProducerTopicMsg[];
}

export interface ClientHeartbeatReplyMsg {
  status: StatusMsg;
  client_room?: string;
  heartbeat_interval_ms?: number;
}

export interface WatchRequestMsg {
  client_id: string;
  topics?: string[];
  groups?: string[];
}

/** kind: hello | route | assignment */
export interface WatchEventMsg {
  kind: string;
  topic?: string;
  group?: string;
  version?: number;
}

// ---- Admin: room cut, restore and group leadership (admin.proto) ----

export interface AuditEntryMsg {
  seq: number;
  at_ms: number;
  by: string;
  action: string;
  target: string;
  reason?: string;
  version?: number;
  /** A JSON object. */
  details_json?: string;
}

export interface GroupMoveMsg {
  group: string;
  from_leader: string;
  from_room?: string;
  to_leader?: string;
  to_room?: string;
  from_epoch: number;
  to_epoch: number;
  from_flushed_offset?: number;
  to_flushed_offset?: number;
  moves?: boolean;
  note?: string;
}

export interface MovingTopicMsg {
  name: string;
  mode: string;
}

export interface MovingClientMsg {
  client_id: string;
  room: string;
  group?: string;
  /** consumer | producer */
  kind: string;
}

export interface RoomPlanMsg {
  room: string;
  /** cut | restore */
  action: string;
  from_status: string;
  to_status: string;
  changes?: boolean;
  current_version?: number;
  groups?: GroupMoveMsg[];
  topics?: MovingTopicMsg[];
  clients?: MovingClientMsg[];
  notes?: string[];
}

/** CutRoomRequest and RestoreRoomRequest. expected_version 0: no expectation. */
export interface RoomChangeRequestMsg {
  room: string;
  reason?: string;
  by?: string;
  dry_run?: boolean;
  expected_version?: number;
}

export interface RoomChangeReplyMsg {
  status: StatusMsg;
  plan?: RoomPlanMsg;
  applied?: boolean;
  room?: RoomControlMsg;
  groups?: GroupControlMsg[];
  audit?: AuditEntryMsg | null;
}

export interface RoomViewMsg {
  control: RoomControlMsg;
  brokers?: number;
  routers?: number;
}

export interface GroupViewMsg {
  control: GroupControlMsg;
  configured_master?: string;
  configured_master_room?: string;
  leader_room?: string;
  members?: string[];
}

export interface ListRoomsReplyMsg {
  status: StatusMsg;
  rooms?: RoomViewMsg[];
  groups?: GroupViewMsg[];
}

export interface SetGroupControlRequestMsg {
  group: string;
  epoch: number;
  leader: string;
  frozen?: boolean;
  /** Compare-and-set: 0 = the group has no record yet. */
  expected_version: number;
  by?: string;
  reason?: string;
}

export interface SetGroupControlReplyMsg {
  status: StatusMsg;
  group?: GroupControlMsg;
  audit?: AuditEntryMsg;
}

export interface ListAuditRequestMsg {
  limit?: number;
}

export interface ListAuditReplyMsg {
  status: StatusMsg;
  entries?: AuditEntryMsg[];
}

// ---- Admin: topic migration (admin.proto, issue 6) ----

export interface QueueOffsetMsg {
  broker: string;
  queue_id: number;
  offset: number;
  room?: string;
}

export interface MigrationGateMsg {
  seq: number;
  capped_rooms?: string[];
  caps?: QueueOffsetMsg[];
  barrier_rooms?: string[];
  barrier?: QueueOffsetMsg[];
  barrier_set?: boolean;
  released?: string[];
  opened_at_ms?: number;
}

export interface TopicMigrationMsg {
  topic: string;
  from_mode: string;
  to_mode: string;
  /** preparing | moving-producers | draining | done | rolled-back */
  phase: string;
  paused?: boolean;
  rolling_back?: boolean;
  groups?: string[];
  moved_groups?: string[];
  switch_seq?: number;
  gates?: MigrationGateMsg[];
  version: number;
  started_at_ms?: number;
  changed_at_ms?: number;
  changed_by?: string;
  reason?: string;
}

export interface MigrationClientMsg {
  client_id: string;
  room: string;
  /** producer | consumer */
  kind: string;
  group?: string;
  settled_version?: number;
  router?: string;
  last_seen_ms?: number;
}

export interface GetMigrationRequestMsg {
  topic: string;
}

export interface GetMigrationReplyMsg {
  status: StatusMsg;
  migration?: TopicMigrationMsg | null;
  topic?: TopicConfigMsg | null;
  clients?: MigrationClientMsg[];
  rooms?: string[];
}

/** action: start | admit | barrier | release | finish | pause | resume | rollback */
export interface ChangeMigrationRequestMsg {
  topic: string;
  action: string;
  to_mode?: string;
  groups?: string[];
  offsets?: QueueOffsetMsg[];
  expected_version?: number;
  by?: string;
  reason?: string;
  dry_run?: boolean;
  gate_seq?: number;
}

export interface ChangeMigrationReplyMsg {
  status: StatusMsg;
  migration?: TopicMigrationMsg | null;
  audit?: AuditEntryMsg | null;
  applied?: boolean;
  topic?: TopicConfigMsg | null;
}

export interface ListMigrationsReplyMsg {
  status: StatusMsg;
  migrations?: TopicMigrationMsg[];
}
