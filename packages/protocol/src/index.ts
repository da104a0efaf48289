export { ERROR_CODES, RoomqError, isRetriableCode, isRoomqError, toRoomqError } from './errors.js';
export type { ErrorCode, ErrorDetails, RoomqErrorOptions } from './errors.js';
export {
  V2_CODE,
  fromGrpcError,
  fromWireStatus,
  okStatus,
  toGrpcError,
  toGrpcStatus,
  toWireStatus,
} from './wire-status.js';
export type { IncomingStatus, WireStatus } from './wire-status.js';
export { nonZeroEnd, readU64, writeU64 } from './bytes.js';
export { listenSniffing } from './port-sniffer.js';
export { writeBuffers } from './socket-writes.js';
export { FlushedBuffers } from './flushed-buffers.js';
export { SHARED_READ_BYTES, sharedOnRead } from './shared-read.js';
export { ReceiveArena } from './receive-arena.js';
export { FRAME_HEADER_BYTES, FrameDecoder, MAX_FRAME_BYTES, encodeFrame, frameHeader } from './frame-codec.js';
export {
  DATA_PREFACE,
  DataFrameKind,
  MAX_DATA_FRAME_BYTES,
  dataFrameDecoder,
  decodeBrokerDataFrame,
  decodePublishFrame,
  decodeSubscribeOpen,
  encodePublishAck,
  encodePublishFrame,
  encodePublishOpen,
  encodeRecordsFrame,
  encodeSubscribeOpen,
} from './data-frames.js';
export { dataProtocol } from './data-server-socket.js';
export type { DataHandlers, DataProtocol, PublishCall, SubscribeCall } from './data-server-socket.js';
export type { SniffedProtocol, SniffingListener } from './port-sniffer.js';
export { crc32, crc32c } from './checksums.js';
export { FNV1A_OFFSET_BASIS, fnv1a } from './fnv1a.js';
export {
  MESSAGE_FIXED_SIZE,
  RECORD_FORMAT_VERSION,
  RECORD_HEADER_SIZE,
  RECORD_MAGIC,
  RecordType,
  decodeRecord,
  encodeMessageSection,
  forEachRecord,
  layoutMessageSection,
  messageRecordSize,
  messageSectionSize,
  newSectionLayout,
  offsetCommitRecordSize,
  readMessagePlacement,
  readRecordHeader,
  recordChecksumValid,
  summarizeMessageSection,
  writeMessageRecord,
  writeMessageSection,
  writeOffsetCommitRecord,
  writeSegmentEndRecord,
} from './record-codec.js';
export type {
  DecodedRecord,
  HeaderProblem,
  MessageFields,
  MessagePlacement,
  MessageRecord,
  OffsetCommitFields,
  OffsetCommitRecord,
  RecordHeader,
  RecordTypeCode,
  SectionSummary,
  SectionLayout,
  SegmentEndRecord,
} from './record-codec.js';
export { decodePublishRequest, decodePublishResults, encodePublishRequest, encodePublishResults } from './publish-codec.js';
export type { PublishEntry, PublishEntryView, PublishResultEntry } from './publish-codec.js';
export {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_PROPERTIES_BYTES,
  MAX_KEYS_PER_MESSAGE,
  MAX_KEY_BYTES,
  MAX_TAG_BYTES,
  MIGRATION_SWITCH_PROPERTY,
  validateGroupName,
  validateMessage,
  validateRoomName,
  validateTopicName,
} from './limits.js';
export type { MessageLimits } from './limits.js';
export { MessageIdGenerator } from './message-id.js';
export {
  FAST_RECONNECT_CHANNEL_OPTIONS,
  PROTO_LOADER_OPTIONS,
  adminServiceClient,
  adminServiceDefinition,
  dataServiceClient,
  dataServiceDefinition,
  messagingServiceClient,
  messagingServiceDefinition,
  registryServiceClient,
  registryServiceDefinition,
  replicationServiceClient,
  replicationServiceDefinition,
  routeServiceClient,
  routeServiceDefinition,
} from './grpc-services.js';
export type * from './roomq-messages.js';
export { formatTopicMode, parseTopicMode, preferredWriteRoom } from './topic-mode.js';
export type { TopicMode } from './topic-mode.js';
export { DEFAULT_BACKOFF, Retrier, abortedError, backoffDelayMs, sleep } from './backoff.js';
export type { BackoffPolicy, RetryOptions } from './backoff.js';
export { SILENT_LOGGER, isLogger } from './logger.js';
export type { Logger } from './logger.js';
export { configInvalidError, describeZodIssues, parseConfig, parseJsonConfig } from './config-errors.js';
export { formatHostPort, hostKind, parseHostPort } from './host-port.js';
export type { HostKind, HostPort } from './host-port.js';
export { grpcHandlers } from './grpc-handlers.js';
export type { GrpcHandlers, Reply } from './grpc-handlers.js';
export type * from './control-records.js';
