export { MessageStore } from './message-store.js';
export type { AppendRequest, AppendResult, MessageStoreDeps, OffsetCommit, ReadResult, StoreRole, StoreState, StoreStats } from './message-store.js';
export {
  DEFAULT_CHECKPOINT_INTERVAL_MS,
  DEFAULT_CONSUME_QUEUE_ENTRIES_PER_FILE,
  DEFAULT_FLUSH_INTERVAL_MS,
  DEFAULT_FLUSH_MODE,
  DEFAULT_INDEX_ENTRIES_PER_FILE,
  DEFAULT_INDEX_SLOTS,
  DEFAULT_PREALLOCATE_BYTES,
  DEFAULT_READ_CACHE_BYTES,
  DEFAULT_SEGMENT_SIZE_BYTES,
  DEFAULT_TAIL_CACHE_BYTES,
  DEFAULT_WRITE_BUFFER_BYTES,
  MessageStoreOptionsSchema,
} from './options.js';
export type { MessageStoreOptions } from './options.js';
export { nodeFileIO } from './file-io.js';
export type { FileIO, StoreFile } from './file-io.js';
export type { CorruptRange } from './log-scanner.js';
export { EPOCH_GROUP, FIRST_EPOCH } from './epoch-marker.js';
export type { EpochStart } from './epoch-marker.js';
