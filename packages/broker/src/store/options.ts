import { z } from 'zod';

/** Default commit-log segment size: 1 GiB. Smaller segments roll more often; a record never spans two. */
export const DEFAULT_SEGMENT_SIZE_BYTES = 1024 ** 3;
/** Default flush mode: `sync` acknowledges an append only after fdatasync (group commit). */
export const DEFAULT_FLUSH_MODE = 'sync';
/** Default fdatasync period in `async` mode: the most a machine crash can take back. */
export const DEFAULT_FLUSH_INTERVAL_MS = 200;
/** Default period for writing consume queues, indexes and the checkpoint; bounds recovery work after a crash. */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 1000;
/** Default consume-queue file size: 300,000 entries of 16 bytes (4.8 MB) a file. */
export const DEFAULT_CONSUME_QUEUE_ENTRIES_PER_FILE = 300_000;
/** Default hash slots per index file (4 bytes each, kept in memory): 1,048,576 slots = 4 MiB. */
export const DEFAULT_INDEX_SLOTS = 1 << 20;
/** Default entries per index file (20 bytes each on disk) before a new index file starts. */
export const DEFAULT_INDEX_ENTRIES_PER_FILE = 4 * 1024 * 1024;
/** Default size of each reusable commit-log write buffer; a bigger batch takes several. */
export const DEFAULT_WRITE_BUFFER_BYTES = 4 * 1024 * 1024;
/**
 * Default zero-filled space kept ahead of the commit log's write position in `sync` mode: 16 MiB, refilled a
 * MiB at a time. Zeroing runs only under light load, where 16 MiB is seconds of writes; a bigger window only
 * costs every start and segment roll more zeros (64 MiB made a test suite of dozens of brokers disk-bound).
 */
export const DEFAULT_PREALLOCATE_BYTES = 16 * 1024 * 1024;
/** The smallest preallocation window that is not 0 (off): a few of its 1 MiB chunks. */
const MIN_PREALLOCATE_BYTES = 4 * 1024 * 1024;

/**
 * Default memory for the newest log bytes (LogTailCache): 16 MiB serves consumers and replicas that keep up
 * without file reads; one that falls further behind reads the file as before.
 */
export const DEFAULT_TAIL_CACHE_BYTES = 16 * 1024 * 1024;
/**
 * 16 read blocks of 1 MiB: consumers of one topic's queues drift apart by a few MiB of log while they read a
 * backlog, and each block is then read from the file once instead of once per queue.
 */
export const DEFAULT_READ_CACHE_BYTES = 16 * 1024 * 1024;

export const MessageStoreOptionsSchema = z.object({
  /** Everything the store keeps lives below this directory. */
  dataDir: z.string().min(1),
  /** Size of each commit-log segment file. */
  segmentSizeBytes: z.number().int().min(64 * 1024).default(DEFAULT_SEGMENT_SIZE_BYTES),
  /** `sync`: acknowledge after fdatasync (group commit). `async`: acknowledge after write; fdatasync on a timer. */
  flushMode: z.enum(['sync', 'async']).default(DEFAULT_FLUSH_MODE),
  /** `async` mode: fdatasync period. */
  flushIntervalMs: z.number().int().min(1).default(DEFAULT_FLUSH_INTERVAL_MS),
  /** Period for persisting derived structures and writing the checkpoint. */
  checkpointIntervalMs: z.number().int().min(10).default(DEFAULT_CHECKPOINT_INTERVAL_MS),
  /** Entries per consume-queue file. Changing it for an existing data directory is not supported. */
  consumeQueueEntriesPerFile: z.number().int().min(1024).default(DEFAULT_CONSUME_QUEUE_ENTRIES_PER_FILE),
  /** Hash slots per index file. */
  indexSlots: z.number().int().min(1024).default(DEFAULT_INDEX_SLOTS),
  /** Entries per index file. */
  indexEntriesPerFile: z.number().int().min(1024).default(DEFAULT_INDEX_ENTRIES_PER_FILE),
  /** Size of each reusable write buffer. */
  writeBufferBytes: z.number().int().min(64 * 1024).default(DEFAULT_WRITE_BUFFER_BYTES),
  /**
   * `sync` mode: bytes of the active segment kept zero-filled and fdatasynced ahead of the write position, so an
   * append's fdatasync does not also commit the file's growth (a one-in-flight sync append ~0.06 ms faster on
   * ext4 here). Filled only while the load is light. 0 turns it off; `async` mode never preallocates. Segments
   * of less than a few MiB are not preallocated.
   */
  preallocateBytes: z
    .number()
    .int()
    .refine((bytes) => bytes === 0 || bytes >= MIN_PREALLOCATE_BYTES, `must be 0 (off) or at least ${MIN_PREALLOCATE_BYTES} (4 MiB)`)
    .default(DEFAULT_PREALLOCATE_BYTES),
  /**
   * While the store is a replica, write new commit-log segments around the page cache (O_DIRECT, see
   * direct-file.ts): a replica's log is read only once its master is gone, so caching it spends memory and CPU on
   * bytes nobody reads. Falls back to the page cache, with one warning, where the file system has no O_DIRECT or
   * the segment size is not a multiple of 4 KiB.
   */
  replicaDirectWrites: z.boolean().default(true),
  /** Memory for the newest log bytes, read by consumers and replicas at the tail without touching the file; 0 turns it off. */
  tailCacheBytes: z.number().int().min(0).default(DEFAULT_TAIL_CACHE_BYTES),
  /**
   * Memory for recently read 1 MiB log blocks, shared by the consumers of a topic's queues, whose records
   * interleave in the log (read-block-cache.ts); less than 1 MiB turns it off.
   */
  readCacheBytes: z.number().int().min(0).default(DEFAULT_READ_CACHE_BYTES),
});

export type MessageStoreOptions = z.input<typeof MessageStoreOptionsSchema>;
export type ResolvedStoreOptions = z.output<typeof MessageStoreOptionsSchema>;
