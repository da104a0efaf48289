/** roomq client SDK: producer, push consumer, admin. */
export { Producer } from './producer.js';
export type { OutgoingMessage, ProducerStats, ProducerStatus, SendOptions, SendReceipt } from './producer.js';
export {
  DEFAULT_BATCH_MAX_BYTES,
  DEFAULT_BATCH_MAX_MESSAGES,
  DEFAULT_BROKER_ISOLATION_MS,
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_MAX_FRAMES_IN_FLIGHT,
  DEFAULT_MAX_IN_FLIGHT_MESSAGES,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_ROUTE_REFRESH_MS,
  DEFAULT_SEND_TIMEOUT_MS,
} from './producer-options.js';
export type { ProducerOptions } from './producer-options.js';
export { PushConsumer } from './push-consumer.js';
export type { AssignedQueue, PushConsumerDeps, PushConsumerStats, PushConsumerStatus } from './push-consumer.js';
export {
  DEFAULT_ASSIGNMENT_REFRESH_MS,
  DEFAULT_COMMIT_INTERVAL_MS,
  DEFAULT_MAX_BUFFERED_MESSAGES,
  DEFAULT_REBALANCE_GRACE_MS,
  DEFAULT_START_FROM,
} from './push-consumer-options.js';
export type { MessageHandler, PushConsumerOptions } from './push-consumer-options.js';
export type { QueueStats } from './queue-consumer.js';
export type { ReceivedMessage } from './received-message.js';
export { AllQueuesAssignment } from './queue-assignment.js';
export type { QueueAssignment } from './queue-assignment.js';
export type { Assignment, AssignmentSource } from './assignment-source.js';
export type { QueueRef, QueuePermission, TopicRoute } from './topic-route.js';
export type { RouteSource } from './route-source.js';
export { Admin, DEFAULT_CONTROL_TIMEOUT_MS } from './admin.js';
export type { AdminOptions, BrokerStatus, ClusterStatus, CreateTopicResult, RouterStatus, TopicConfig } from './admin.js';
export type { AuditEntry, GroupControl, GroupMove, RoomChangeOptions, RoomChangeResult, RoomControl, RoomListing, RoomPlan, SetGroupControlOptions } from './room-control.js';
export { DEFAULT_FAILBACK_POLL_INTERVAL_MS, DEFAULT_FAILBACK_TIMEOUT_MS } from './failback.js';
export { replicationTrouble } from './replication-trouble.js';
export type { FailbackOptions, FailbackPhase, FailbackProgress, FailbackResult } from './failback.js';
export { DEFAULT_MIGRATION_POLL_INTERVAL_MS, DEFAULT_MIGRATION_TIMEOUT_MS } from './migration.js';
export type {
  ChangeMigrationOptions,
  ConsumerGroupProgress,
  DriveMigrationOptions,
  DriveResult,
  MigrationClient,
  MigrationGate,
  MigrationPhase,
  MigrationProgress,
  MigrationStatus,
  QueueOffset,
  TopicMigration,
} from './migration.js';
export { DEFAULT_ROOM } from './client-identity.js';
export { DEFAULT_BACKOFF, RoomqError, SILENT_LOGGER, isRoomqError } from '@roomq/protocol';
export type { BackoffPolicy, ErrorCode, ErrorDetails, Logger } from '@roomq/protocol';
