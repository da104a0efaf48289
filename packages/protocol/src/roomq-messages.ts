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
}

export interface GetRouteRequestMsg {
  topic: string;
}

export interface GetRouteReplyMsg {
  status: StatusMsg;
  queues?: RouteQueueMsg[];
  client_room?: string;
  mode?: string;
  preferred_room?: string;
  spilled?: boolean;
  version?: number;
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
}

export interface ConsumerGroupInterestMsg {
  group: string;
  topics: string[];
}

export interface ClientHeartbeatRequestMsg {
  client_id: string;
  consumers?: ConsumerGroupInterestMsg[];
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
