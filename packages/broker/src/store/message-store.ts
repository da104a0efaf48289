import { join } from 'node:path';
import { EPOCH_GROUP, epochHistory, epochMarkerTopic, epochOfMarker, type EpochStart } from './epoch-marker.js';
import {
  MESSAGE_FIXED_SIZE,
  RECORD_HEADER_SIZE,
  RecordType,
  RoomqError,
  decodeRecord,
  layoutMessageSection,
  messageRecordSize,
  newSectionLayout,
  offsetCommitRecordSize,
  readMessagePlacement,
  readRecordHeader,
  recordChecksumValid,
  summarizeMessageSection,
  writeMessageRecord,
  writeOffsetCommitRecord,
  type MessagePlacement,
  type MessageRecord,
  type OffsetCommitRecord,
  type RecordHeader,
  type SectionSummary,
} from '@roomq/protocol';
import { pino, type Logger } from 'pino';
import { decodeCheckpoint, encodeCheckpoint, type CheckpointData } from './checkpoint-codec.js';
import { CommitLog, StorageIoError, attempt } from './commit-log.js';
import { ConsumeQueue } from './consume-queue.js';
import { CQ_ENTRY_SIZE, cqPhysicalOffset, cqSize, hashTag, hashTagBytes } from './consume-queue-codec.js';
import { nodeFileIO, syncDirectory, type FileIO } from './file-io.js';
import { keyHash, keyHashBytesWithSeed, keyHashSeed, keyHashWithSeed, messageIdHash, messageIdHashBytes } from './index-codec.js';
import { LogAppender, type CommitWaiter, type SealedGroup } from './log-appender.js';
import { LogTailCache } from './log-tail-cache.js';
import { ReadBlockCache } from './read-block-cache.js';
import { scanLog, type CorruptRange } from './log-scanner.js';
import { lastOffsetCommits, lastRecordBefore, readLogRange } from './log-walker.js';
import { MessageIndex } from './message-index.js';
import { ThresholdWaiters } from './threshold-waiters.js';
import { decodeOverlay, encodeOverlay } from './offset-overlay-codec.js';
import { MessageStoreOptionsSchema, type MessageStoreOptions, type ResolvedStoreOptions } from './options.js';

/** One message to append; `section` was validated by the server (summarizeMessageSection). */
export interface AppendRequest {
  queueId: number;
  section: Buffer;
  summary: SectionSummary;
}

export interface AppendResult {
  topic: string;
  queueId: number;
  queueOffset: number;
  physicalOffset: number;
  messageId: string;
  storeTimestampMs: number;
}

export interface ReadResult {
  /** Whole records (format v1) concatenated, in queue order. */
  records: Buffer;
  count: number;
  /** Queue offset to read next. */
  nextOffset: number;
  /** Exclusive end of the queue when read. */
  endOffset: number;
}

export type StoreState = 'ready' | 'failed' | 'closed';

/** A consumer group's offset in one queue, as forwarded between members of a chain. */
export interface OffsetCommit {
  group: string;
  topic: string;
  queueId: number;
  offset: number;
}

/**
 * A master writes its own records (appendMessages, commitOffset); a replica only copies its upstream's
 * (appendReplicated), so its log stays byte-identical. Set by the broker; a store starts as master.
 */
export type StoreRole = 'master' | 'replica';

export interface StoreStats {
  state: StoreState;
  role: StoreRole;
  failure?: string;
  flushMode: 'sync' | 'async';
  /** End of the acknowledged log (what readers may see). */
  logEndOffset: number;
  /** End of the fdatasynced log. */
  flushedOffset: number;
  segmentCount: number;
  corruptRanges: CorruptRange[];
}

export interface MessageStoreDeps {
  logger?: Logger;
  io?: FileIO;
  now?: () => number;
}

/** Consume-queue entries not yet on disk that trigger a write before the next checkpoint. */
const PERSIST_THRESHOLD_ENTRIES = 64 * 1024;
const EMPTY = Buffer.alloc(0);
/** Records of one read further apart than this are read separately. */
const READ_GAP_BYTES = 256 * 1024;
/**
 * Spans of a queue read at least this long go through the read blocks (read-block-cache.ts); shorter ones, a few
 * records of a sparse queue, are read directly rather than pull in a whole block.
 */
const BLOCK_READ_MIN_BYTES = 64 * 1024;
/** File name, below dataDir, of the offsets committed at a replica (offset-overlay-codec.ts). */
const OVERLAY_FILE = 'offset-overlay';

function queueKey(topic: string, queueId: number): string {
  return `${topic}\u0000${queueId}`;
}

/** True when `buf[a, a + length)` and `buf[b, b + length)` hold the same bytes (short runs: a loop beats a native call). */
function sameBytes(buf: Buffer, a: number, b: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (buf[a + i] !== buf[b + i]) return false;
  return true;
}

function offsetKey(group: string, topic: string, queueId: number): string {
  return `${group}\u0000${topic}\u0000${queueId}`;
}

/** One verified record of an appendReplicated call, with where it lands. */
interface ReplicatedRecord {
  at: number;
  size: number;
  position: number;
  type: number;
  storeTimestampMs: number;
  /** A MESSAGE's topic; undefined for other records. */
  topic: string | undefined;
  queueId: number;
  queueOffset: number;
  /** A MESSAGE's consume-queue tag hash and index hashes: all a replica needs of it, hashed from its bytes. */
  tagHash: number;
  idHash: number;
  keyHashes: number[] | undefined;
  commit: OffsetCommitRecord | undefined;
}

/** A queue a replicated chunk writes to, and the queue offset its next message must carry. */
interface PlannedQueue {
  topic: string;
  queueId: number;
  next: number;
}

/** One appendMessages call waiting for its flush group. */
class AppendWaiter implements CommitWaiter {
  readonly promise: Promise<AppendResult[]>;
  private resolve!: (results: AppendResult[]) => void;
  private reject!: (err: unknown) => void;

  constructor(
    private readonly store: MessageStore,
    private readonly results: AppendResult[],
  ) {
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  durable(): void {
    this.resolve(this.results);
  }

  failed(): void {
    this.reject(this.store.failure);
  }
}

/**
 * The broker's storage engine: commit log, consume queues, message-ID/key index, consumer offsets, recovery
 * and flush modes. Readers only ever see what is durable per the flush mode.
 */
export class MessageStore {
  private stateValue: StoreState = 'ready';
  private roleValue: StoreRole = 'master';
  private failureValue: RoomqError | undefined;
  private readonly consumeQueues = new Map<string, ConsumeQueue>();
  /** The same queues by topic, then queueId: the append path finds a queue without building a key string. */
  private readonly queuesByTopic = new Map<string, ConsumeQueue[]>();
  private readonly offsets = new Map<string, number>();
  private readonly pendingOffsets = new Map<string, { offset: number; done: Promise<number> }>();
  /**
   * Offsets committed while a replica, durable in the overlay file. Invariant: every entry is above the log
   * table's value for its key; an entry the log table reaches (its OFFSET_COMMIT replicated back) is dropped.
   */
  private readonly overlay = new Map<string, OffsetCommit>();
  /** Overlay commits accepted but not yet in a durable overlay file; the next overlay write takes them. */
  private readonly overlayPending = new Map<string, OffsetCommit>();
  private overlayWriting: Promise<void> | undefined;
  private overlayQueued: Promise<void> | undefined;
  /**
   * Master only: offsets forwarded from replicas (durable there) whose OFFSET_COMMIT record is not durable here
   * yet. committedOffset counts them at once, so a consumer asking the master never sees less.
   */
  private readonly forwarded = new Map<string, number>();
  private corrupt: CorruptRange[] = [];
  private log!: CommitLog;
  private appender!: LogAppender;
  /** The newest durable-to-be log bytes; readers check bounds (durable, visible, corrupt) before using it. */
  private tail!: LogTailCache;
  private directWritesWarned = false;
  private blocks!: ReadBlockCache;
  private index!: MessageIndex;
  private readonly timers: NodeJS.Timeout[] = [];
  private checkpointing: Promise<void> | undefined;
  /** The async-mode timer's fdatasync in progress. */
  private syncing: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private truncating: Promise<Buffer> | undefined;
  private readonly durableWaiters = new ThresholdWaiters();
  /** Appends usually go to the queue of the previous one: skip the key string and the map lookup. */
  private recentQueue: ConsumeQueue | undefined;
  /** Queues appended to since the current flush group opened (each has `sealPending` set). */
  private unsealedQueues: ConsumeQueue[] = [];
  /** sync:N on a leader: durable groups whose messages readers see only once replicas hold them, oldest first. */
  private awaitingReplication: Array<{ start: number; end: number; publish: () => void }> = [];
  /** Set while visibility waits for replication: the log offset below which the replicas hold everything. */
  private replicationHold: { replicatedEnd: number } | undefined;
  /** Batches of the open flush group not indexed yet: request array, then result array, per call. */
  private unindexed: Array<AppendRequest[] | AppendResult[]> = [];
  /** A replica's chunks of the open flush group not indexed yet, as planned (their records carry what the index needs). */
  private unindexedReplicated: ReplicatedRecord[][] = [];
  /** Reused by planReplicated for every record it reads. */
  private readonly sectionLayout = newSectionLayout();
  /** Reused for every record written: the hot path allocates no placement objects. */
  private readonly placement: MessagePlacement = { physicalOffset: 0, storeTimestampMs: 0, queueId: 0, queueOffset: 0 };

  private constructor(
    private readonly options: ResolvedStoreOptions,
    private readonly io: FileIO,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {}

  /** Opens (and recovers) the store in `options.dataDir`. Throws CONFIG_INVALID or STORAGE_FAILED. */
  static async open(options: MessageStoreOptions, deps: MessageStoreDeps = {}): Promise<MessageStore> {
    const parsed = MessageStoreOptionsSchema.safeParse(options);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const path = issue.path.join('.');
      throw new RoomqError('CONFIG_INVALID', `store option ${path}: ${issue.message}`, { details: { field: path }, cause: parsed.error });
    }
    const logger = (deps.logger ?? pino({ level: 'silent' })).child({ component: 'store' });
    const store = new MessageStore(parsed.data, deps.io ?? nodeFileIO, logger, deps.now ?? Date.now);
    try {
      await store.recover();
    } catch (err) {
      await store.closeFiles();
      if (err instanceof StorageIoError) {
        throw new RoomqError('STORAGE_FAILED', `broker storage could not open: ${err.what}: ${err.errno}. Check the disk at ${err.path}, then restart the broker`, {
          cause: err,
          details: { path: err.path },
        });
      }
      throw err;
    }
    store.startTimers();
    logger.info({ dataDir: parsed.data.dataDir, flushMode: parsed.data.flushMode, logEndOffset: store.appender.durableOffset }, 'store ready');
    return store;
  }

  get state(): StoreState {
    return this.stateValue;
  }

  /** Why writes stopped, when state is 'failed'. */
  get failure(): RoomqError | undefined {
    return this.failureValue;
  }

  get role(): StoreRole {
    return this.roleValue;
  }

  /**
   * Makes the store a master (takes appendMessages and commitOffset) or a replica (takes appendReplicated
   * only). The broker switches it on promotion or demotion, once the previous role's writes have settled.
   */
  setRole(role: StoreRole): void {
    if (role === this.roleValue) return;
    const previous = this.roleValue;
    this.roleValue = role;
    this.logger.info({ previous, role, overlayEntries: this.overlay.size }, 'store role changed');
    if (role === 'replica') {
      this.forwarded.clear();
      // What the master role held back never reached the replicas: as a replica this log follows another, which
      // either holds those bytes (later appends make them visible) or cuts them off.
      this.awaitingReplication = [];
      this.replicationHold = undefined;
      return;
    }
    // A promoted replica writes what consumers committed at it into its log, where it replicates; each overlay
    // entry is dropped once its record is durable (raiseOffset).
    for (const commit of this.overlay.values()) {
      this.commitOffset(commit.group, commit.topic, commit.queueId, commit.offset).catch((err: unknown) =>
        this.logger.warn({ err, ...commit }, 'could not write an offset committed while a replica into the log; it stays in the overlay'),
      );
    }
  }

  private roleRefusal(call: string): RoomqError {
    const other = this.roleValue === 'master' ? 'replica' : 'master';
    return new RoomqError(
      'FORBIDDEN',
      `${call} is refused: the store is a ${this.roleValue}, and a ${other}'s write would make its log differ from its group's; call setRole('${other}') first`,
      { details: { field: 'role' } },
    );
  }

  private setState(next: StoreState): void {
    if (next === this.stateValue) return;
    const previous = this.stateValue;
    this.stateValue = next;
    if (next === 'failed') this.logger.error({ previous, state: next, err: this.failureValue }, 'store state changed');
    else this.logger.info({ previous, state: next }, 'store state changed');
  }

  // -------------------------------------------------------------------------------------------------------
  // Writes

  /**
   * Appends a batch: all of it or none is acknowledged. Resolves once durable per the flush mode, with queue
   * offsets assigned in call order. The store reads `batch` (summaries, to index) until the call settles: do not
   * change it before then.
   */
  appendMessages(batch: AppendRequest[]): Promise<AppendResult[]> {
    const refused = this.writeRefusal();
    if (refused) return Promise.reject(refused);
    if (this.roleValue !== 'master') return Promise.reject(this.roleRefusal('appendMessages'));
    if (batch.length === 0) return Promise.resolve([]);
    for (const request of batch) {
      const size = messageRecordSize(request.section.length);
      if (size > this.options.segmentSizeBytes) {
        return Promise.reject(
          new RoomqError('BAD_REQUEST', `a ${size}-byte record does not fit in a ${this.options.segmentSizeBytes}-byte segment; raise segmentSizeBytes or send smaller messages`, {
            details: { topic: request.summary.topic, queueId: request.queueId },
          }),
        );
      }
      if (!Number.isInteger(request.queueId) || request.queueId < 0 || request.queueId > 0x7fffffff) {
        return Promise.reject(new RoomqError('BAD_REQUEST', `queueId ${request.queueId} is invalid`, { details: { topic: request.summary.topic } }));
      }
    }
    const storeTimestampMs = this.now();
    const results: AppendResult[] = new Array(batch.length);
    const appender = this.appender;
    const placement = this.placement;
    placement.storeTimestampMs = storeTimestampMs;
    // Runs of one queue, tag or topic are the rule: look each up once per run.
    let queue: ConsumeQueue | undefined;
    let tag: string | undefined;
    let tagHash = 0;
    for (let i = 0; i < batch.length; i++) {
      const request = batch[i]!;
      const { queueId, section, summary } = request;
      const topic = summary.topic;
      if (queue === undefined || queue.queueId !== queueId || queue.topic !== topic) {
        queue = this.queueFor(topic, queueId);
        if (!queue.sealPending) {
          queue.sealPending = true;
          this.unsealedQueues.push(queue);
        }
      }
      if (summary.tag !== tag) {
        tag = summary.tag;
        tagHash = hashTag(tag);
      }
      const size = MESSAGE_FIXED_SIZE + section.length;
      const physicalOffset = appender.reserve(size, storeTimestampMs);
      const queueOffset = queue.append(physicalOffset, size, tagHash);
      placement.physicalOffset = physicalOffset;
      placement.queueId = queueId;
      placement.queueOffset = queueOffset;
      writeMessageRecord(appender.slotBuf, appender.slotAt, placement, section);
      results[i] = { topic, queueId, queueOffset, physicalOffset, messageId: summary.messageId, storeTimestampMs };
    }
    // Index entries are made while the disk works on this batch's flush (see sealGroup).
    this.unindexed.push(batch, results);
    const waiter = new AppendWaiter(this, results);
    appender.commit(waiter);
    return waiter.promise;
  }

  /**
   * A flush group closes. Its index entries are made while the disk writes it (the event loop would idle
   * otherwise); its queue and index entries become visible once it is durable. Runs once per group, so none
   * of this costs anything per call.
   */
  private sealGroup(groupStart: number): SealedGroup | undefined {
    const queues = this.unsealedQueues;
    const unindexed = this.unindexed;
    const unindexedReplicated = this.unindexedReplicated;
    if (queues.length === 0 && unindexed.length === 0 && unindexedReplicated.length === 0) return undefined;
    this.unsealedQueues = [];
    this.unindexed = [];
    if (unindexedReplicated.length > 0) this.unindexedReplicated = [];
    const ends = new Array<number>(queues.length);
    for (let i = 0; i < queues.length; i++) {
      const queue = queues[i]!;
      queue.sealPending = false;
      ends[i] = queue.assignedEnd;
    }
    let indexEnd = this.index.total;
    // onSeal runs once the appender opened the next group: its write position is where this group ends.
    const groupEnd = this.appender.writePosition;
    const publish = (): void => {
      for (let i = 0; i < queues.length; i++) {
        const queue = queues[i]!;
        if (ends[i]! > queue.visibleEnd) queue.setVisibleEnd(ends[i]!);
        if (queue.visibleEnd - queue.fileEnd >= PERSIST_THRESHOLD_ENTRIES) this.background(queue.persist());
      }
      if (indexEnd > this.index.visibleTotal) this.index.visibleTotal = indexEnd;
    };
    return {
      whileWriting: () => {
        for (let i = 0; i < unindexed.length; i += 2) {
          this.indexBatch(unindexed[i] as AppendRequest[], unindexed[i + 1] as AppendResult[]);
        }
        for (let i = 0; i < unindexedReplicated.length; i++) this.indexReplicated(unindexedReplicated[i]!);
        indexEnd = this.index.total;
      },
      durable: () => {
        const hold = this.replicationHold;
        if (hold && this.roleValue === 'master' && groupEnd > hold.replicatedEnd) this.awaitingReplication.push({ start: groupStart, end: groupEnd, publish });
        else publish();
      },
    };
  }

  /**
   * sync:N on a leader: readers see a message only once the replicas the mode waits for hold it, so no consumer
   * ever reads a write whose producer got an error and that a failover then cuts off (a "phantom" read). Off
   * (async, or no replica left to wait for): visible once durable here, and what was held becomes visible.
   */
  holdVisibilityForReplication(on: boolean): void {
    if (on) {
      this.replicationHold ??= { replicatedEnd: 0 };
      return;
    }
    this.replicationHold = undefined;
    const held = this.awaitingReplication;
    this.awaitingReplication = [];
    for (const group of held) group.publish();
  }

  /** The replicas the mode waits for hold the log below `offset`: what was held up to there becomes visible. */
  replicatedTo(offset: number): void {
    const hold = this.replicationHold;
    if (!hold) return;
    // It may go down (a restored room's replica counts again): what is visible stays, later groups wait.
    hold.replicatedEnd = offset;
    while (this.awaitingReplication.length > 0 && this.awaitingReplication[0]!.end <= offset) this.awaitingReplication.shift()!.publish();
  }

  /** Index entries (message ID, then each key) of an appended batch, in log order. */
  private indexBatch(batch: AppendRequest[], results: AppendResult[]): void {
    const index = this.index;
    let keyTopic: string | undefined;
    let keySeed = 0;
    for (let i = 0; i < batch.length; i++) {
      const { section, summary } = batch[i]!;
      const { physicalOffset } = results[i]!;
      const size = MESSAGE_FIXED_SIZE + section.length;
      index.add(messageIdHash(summary.messageId), physicalOffset, size);
      const keys = summary.keys;
      if (keys.length === 0) continue;
      if (summary.topic !== keyTopic) {
        keyTopic = summary.topic;
        keySeed = keyHashSeed(keyTopic);
      }
      for (let k = 0; k < keys.length; k++) index.add(keyHashWithSeed(keySeed, keys[k]!), physicalOffset, size);
    }
  }

  /** indexBatch for a replica's planned records: the same entries, in the same order. */
  private indexReplicated(planned: ReplicatedRecord[]): void {
    const index = this.index;
    for (let i = 0; i < planned.length; i++) {
      const record = planned[i]!;
      if (record.topic === undefined) continue;
      index.add(record.idHash, record.position, record.size);
      const keys = record.keyHashes;
      if (keys !== undefined) for (let k = 0; k < keys.length; k++) index.add(keys[k]!, record.position, record.size);
    }
  }

  private indexMessage(summary: SectionSummary, physicalOffset: number, size: number): void {
    this.index.add(messageIdHash(summary.messageId), physicalOffset, size);
    for (const key of summary.keys) this.index.add(keyHash(summary.topic, key), physicalOffset, size);
  }

  /**
   * Records a consumer group's progress. Offsets never go backwards: a value not above the one in force is
   * ignored. Resolves with the offset in force once durable. A master writes an OFFSET_COMMIT record; a replica,
   * whose log must stay its upstream's bytes, keeps the offset in its overlay file instead (offset ≤ queue end,
   * else INVALID_OFFSET) and forwards it up the chain (overlayOffsets) until the master's record comes back.
   */
  commitOffset(group: string, topic: string, queueId: number, offset: number): Promise<number> {
    const refused = this.writeRefusal();
    if (refused) return Promise.reject(refused);
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isInteger(queueId) || queueId < 0 || queueId > 0x7fffffff) {
      return Promise.reject(new RoomqError('BAD_REQUEST', `offset ${offset} for queue ${queueId} is invalid`, { details: { group, topic, queueId } }));
    }
    if (this.roleValue !== 'master') return this.commitToOverlay({ group, topic, queueId, offset });
    const key = offsetKey(group, topic, queueId);
    const pending = this.pendingOffsets.get(key);
    const committed = this.offsets.get(key);
    if (pending && offset <= pending.offset) return pending.done;
    if (!pending && committed !== undefined && offset <= committed) return Promise.resolve(committed);
    const fields = { group, topic, queueId, offset };
    const now = this.now();
    const physicalOffset = this.appender.reserve(offsetCommitRecordSize(fields), now);
    writeOffsetCommitRecord(this.appender.slotBuf, this.appender.slotAt, physicalOffset, now, fields);
    const done = new Promise<number>((resolve, reject) => {
      this.appender.commit({
        durable: () => {
          const inForce = this.raiseOffset(key, offset);
          if (this.pendingOffsets.get(key)?.offset === offset) this.pendingOffsets.delete(key);
          resolve(inForce);
        },
        failed: () => reject(this.failureValue),
      });
    });
    this.pendingOffsets.set(key, { offset, done });
    return done;
  }

  /** Raises the log table's offset for `key` (never lowers it), dropping what it now covers; returns the value. */
  private raiseOffset(key: string, offset: number): number {
    const inForce = Math.max(this.offsets.get(key) ?? 0, offset);
    this.offsets.set(key, inForce);
    const forwarded = this.forwarded.get(key);
    if (forwarded !== undefined && forwarded <= inForce) this.forwarded.delete(key);
    const overlaid = this.overlay.get(key);
    if (overlaid !== undefined && overlaid.offset <= inForce) {
      this.overlay.delete(key);
      this.logger.debug({ ...overlaid, logOffset: inForce }, 'overlay offset reached by the log; dropped');
      // Dropping an entry loses nothing (the log holds as much), so the file is rewritten off the hot path.
      this.background(this.persistOverlay());
    }
    return inForce;
  }

  private commitToOverlay(commit: OffsetCommit): Promise<number> {
    const { group, topic, queueId, offset } = commit;
    const end = this.queueEnd(topic, queueId);
    if (offset > end) {
      return Promise.reject(
        new RoomqError('INVALID_OFFSET', `offset ${offset} is outside queue ${topic}/${queueId}, which ends at ${end} on this replica`, {
          details: { group, topic, queueId, offset },
        }),
      );
    }
    const key = offsetKey(group, topic, queueId);
    const inForce = this.committedOffset(group, topic, queueId);
    const pending = this.overlayPending.get(key);
    const settled = (): number => this.committedOffset(group, topic, queueId) ?? offset;
    if (pending !== undefined && offset <= pending.offset) return this.persistOverlay().then(settled);
    if (inForce !== undefined && offset <= inForce) return Promise.resolve(inForce);
    this.overlayPending.set(key, { ...commit });
    return this.persistOverlay().then(settled);
  }

  /**
   * Writes the overlay file with every entry accepted so far. Resolves once a write that started after this
   * call is durable; writes never overlap (one runs, at most one more waits and takes everything new).
   */
  private persistOverlay(): Promise<void> {
    if (this.overlayQueued) return this.overlayQueued;
    if (!this.overlayWriting) return this.startOverlayWrite();
    const queued = this.overlayWriting
      .catch(() => undefined)
      .then(() => {
        this.overlayQueued = undefined;
        return this.startOverlayWrite();
      });
    this.overlayQueued = queued;
    return queued;
  }

  private startOverlayWrite(): Promise<void> {
    const run = this.writeOverlay()
      .catch((err: unknown) => {
        this.fail(err);
        throw this.failureValue ?? err;
      })
      .finally(() => {
        if (this.overlayWriting === run) this.overlayWriting = undefined;
      });
    this.overlayWriting = run;
    return run;
  }

  private async writeOverlay(): Promise<void> {
    if (this.stateValue === 'failed') throw this.failureValue;
    // The entries are taken in one synchronous step; only once the file holding them is durable do they count.
    const entries = new Map(this.overlay);
    for (const [key, commit] of this.overlayPending) {
      if (commit.offset > (entries.get(key)?.offset ?? -1)) entries.set(key, commit);
    }
    this.overlayPending.clear();
    for (const [key, commit] of entries) if ((this.offsets.get(key) ?? -1) >= commit.offset) entries.delete(key);
    await this.writeFileAtomically(OVERLAY_FILE, encodeOverlay({ offsets: [...entries.values()] }), 'write the offset overlay');
    for (const [key, commit] of entries) {
      if ((this.offsets.get(key) ?? -1) >= commit.offset) continue; // the log caught up meanwhile
      if (commit.offset > (this.overlay.get(key)?.offset ?? -1)) this.overlay.set(key, commit);
    }
  }

  /**
   * Offsets committed at this member while a replica that its log does not hold yet: what the replicator
   * forwards up the chain with every progress report until the master's OFFSET_COMMIT records come back.
   */
  overlayOffsets(): OffsetCommit[] {
    return [...this.overlay.values()].map((commit) => ({ ...commit }));
  }

  /**
   * Master only: applies offsets committed at replicas (forwarded up the chain) with commitOffset's max
   * semantics, so a lower one changes nothing. committedOffset counts each at once, before its record is
   * durable: the replica that forwarded it already holds it durably. An offset past this queue's end is
   * skipped (logged): this log lacks what the replica's consumer read, which only a diverged member can cause.
   */
  applyForwardedOffsets(commits: readonly OffsetCommit[]): Promise<void> {
    if (this.roleValue !== 'master') return Promise.reject(this.roleRefusal('applyForwardedOffsets'));
    const writes: Promise<unknown>[] = [];
    for (const commit of commits) {
      const { group, topic, queueId, offset } = commit;
      if (!group || !topic || !Number.isSafeInteger(offset) || offset < 0 || !Number.isInteger(queueId) || queueId < 0 || queueId > 0x7fffffff) {
        this.logger.warn({ ...commit }, 'forwarded offset is malformed; ignored');
        continue;
      }
      const inForce = this.committedOffset(group, topic, queueId);
      if (inForce !== undefined && offset <= inForce) continue;
      const end = this.queueEnd(topic, queueId);
      if (offset > end) {
        this.logger.warn({ ...commit, queueEnd: end }, 'forwarded offset is past the queue end here; ignored (is the forwarding member diverged?)');
        continue;
      }
      this.forwarded.set(offsetKey(group, topic, queueId), offset);
      this.logger.debug({ ...commit, previous: inForce }, 'applying an offset committed at a replica');
      writes.push(this.commitOffset(group, topic, queueId, offset));
    }
    return Promise.all(writes).then(() => undefined);
  }

  private writeRefusal(): RoomqError | undefined {
    if (this.stateValue === 'failed') return this.failureValue;
    if (this.stateValue === 'closed' || this.closing) return new RoomqError('CLOSED', 'the store is closed');
    if (this.truncating) return new RoomqError('UNAVAILABLE', 'the store is truncating its log; retry when truncate() has resolved');
    return undefined;
  }

  // -------------------------------------------------------------------------------------------------------
  // Epochs (epoch-marker.ts)

  /** Where each group epoch starts, ascending, from the epoch markers in the log (epoch 1 at offset 0 implied). */
  epochHistory(): EpochStart[] {
    const markers: EpochStart[] = [];
    const prefix = `${EPOCH_GROUP}\u0000`;
    for (const [key, startOffset] of this.offsets) {
      if (!key.startsWith(prefix)) continue;
      const epoch = epochOfMarker(EPOCH_GROUP, key.slice(prefix.length, key.lastIndexOf('\u0000')));
      if (epoch !== undefined) markers.push({ epoch, startOffset });
    }
    return epochHistory(markers);
  }

  /** The newest epoch this log has reached. */
  currentEpoch(): number {
    const history = this.epochHistory();
    return history[history.length - 1]!.epoch;
  }

  /**
   * Master only: records that `epoch` starts at `startOffset` (the log end when this member took over, before
   * any write of the new epoch). Resolves once the marker is durable.
   */
  async markEpoch(epoch: number, startOffset: number): Promise<void> {
    await this.commitOffset(EPOCH_GROUP, epochMarkerTopic(epoch), 0, startOffset);
  }

  // -------------------------------------------------------------------------------------------------------
  // Reads

  /**
   * The offset in force: the highest of the log table, the overlay (offsets committed here while a replica)
   * and, on a master, offsets forwarded from replicas whose record is not durable yet.
   */
  committedOffset(group: string, topic: string, queueId: number): number | undefined {
    const key = offsetKey(group, topic, queueId);
    const logged = this.offsets.get(key);
    const overlaid = this.overlay.get(key)?.offset;
    const forwarded = this.forwarded.get(key);
    if (overlaid === undefined && forwarded === undefined) return logged;
    return Math.max(logged ?? 0, overlaid ?? 0, forwarded ?? 0);
  }

  /** Exclusive end of what readers may see (0 if the queue is empty or unknown). */
  queueEnd(topic: string, queueId: number): number {
    return this.consumeQueues.get(queueKey(topic, queueId))?.visibleEnd ?? 0;
  }

  /**
   * Reads whole records from `fromOffset`: at most `maxMessages`, within `maxBytes` unless the first record
   * alone is bigger. Every record is checksum-verified; a bad one is never served: records before it are
   * returned, and a read starting at it throws MESSAGE_CORRUPTED. The records are read into the start of
   * `into` when they fit (a reader that reuses its buffers), else into a new buffer.
   */
  async readQueue(topic: string, queueId: number, fromOffset: number, maxMessages: number, maxBytes: number, into?: Buffer): Promise<ReadResult> {
    if (this.stateValue === 'closed') throw new RoomqError('CLOSED', 'the store is closed');
    const queue = this.consumeQueues.get(queueKey(topic, queueId));
    const end = queue?.visibleEnd ?? 0;
    if (!Number.isSafeInteger(fromOffset) || fromOffset < 0 || fromOffset > end) {
      throw new RoomqError('INVALID_OFFSET', `offset ${fromOffset} is outside queue ${topic}/${queueId}, which holds [0, ${end}); read from 0 to ${end}`, {
        details: { topic, queueId, offset: fromOffset },
      });
    }
    if (!queue || fromOffset === end || maxMessages <= 0) return { records: EMPTY, count: 0, nextOffset: fromOffset, endOffset: end };
    const wanted = Math.min(maxMessages, end - fromOffset);
    const entries = await queue.readEntries(fromOffset, wanted);
    // Copy out before any await: `entries` may be a view of the queue's memory.
    const positions: number[] = [];
    const sizes: number[] = [];
    let bytes = 0;
    let badAt: number | undefined;
    for (let i = 0; i < wanted; i++) {
      const size = cqSize(entries, i * CQ_ENTRY_SIZE);
      const position = cqPhysicalOffset(entries, i * CQ_ENTRY_SIZE);
      if (i > 0 && bytes + size > maxBytes) break;
      if (size === 0 || this.inCorruptRange(position, size)) {
        badAt = i;
        break;
      }
      positions.push(position);
      sizes.push(size);
      bytes += size;
    }
    if (badAt === 0) {
      const position = cqPhysicalOffset(entries, 0);
      throw this.corruptedError(topic, queueId, fromOffset, position, 'lies in a corrupt log range');
    }
    const count = positions.length;
    const records = into && bytes <= into.length ? into.subarray(0, bytes) : Buffer.allocUnsafe(bytes);
    let filled = 0;
    for (let first = 0; first < count; ) {
      // A span: records close together in one segment, fetched together.
      let last = first;
      let recordBytes = sizes[first]!;
      const segment = this.log.segmentIndexFor(positions[first]!);
      while (
        last + 1 < count &&
        positions[last + 1]! >= positions[last]! + sizes[last]! &&
        positions[last + 1]! - (positions[last]! + sizes[last]!) <= READ_GAP_BYTES &&
        this.log.segmentIndexFor(positions[last + 1]!) === segment
      ) {
        last++;
        recordBytes += sizes[last]!;
      }
      const spanStart = positions[first]!;
      const spanLength = positions[last]! + sizes[last]! - spanStart;
      const segmentBase = this.log.segments[segment]!.base;
      // Each record lands in `records` once: from the tail cache, from read blocks, or from one read of the span,
      // which goes straight into place when the span is this queue's records back to back.
      const inTail = this.tail.has(spanStart, spanLength);
      const viaBlocks = !inTail && this.blocks.enabled && spanLength >= BLOCK_READ_MIN_BYTES;
      const inPlace = !inTail && !viaBlocks && spanLength === recordBytes;
      let span: Buffer | undefined;
      if (inPlace) {
        const got = await this.log.read(spanStart, spanLength, records.subarray(filled, filled + spanLength));
        // A file shorter than its queue says: zeros, never stale memory, fail the records' checks.
        records.fill(0, filled + got.length, filled + spanLength);
      } else if (!inTail && !viaBlocks) {
        span = await this.log.read(spanStart, spanLength);
        if (span.length < spanLength) span = Buffer.concat([span, Buffer.alloc(spanLength - span.length)]);
      }
      for (let i = first; i <= last; i++) {
        const position = positions[i]!;
        const size = sizes[i]!;
        if (inTail) this.tail.copyTo(position, size, records, filled);
        else if (span) span.copy(records, filled, position - spanStart, position - spanStart + size);
        else if (viaBlocks && !this.blocks.copyOut(position, size, segmentBase, records, filled)) await this.copyFromBlocks(position, size, records, filled);
        const problem = this.checkRecord(records, filled, position, size, queueId, fromOffset + i, inTail);
        if (problem) {
          // A bad record ends the read: the good ones before it are served, it never is.
          const error = this.noteCorrupt(topic, queueId, fromOffset + i, position, size, problem);
          if (i === 0) throw error;
          return { records: records.subarray(0, filled), count: i, nextOffset: fromOffset + i, endOffset: end };
        }
        filled += size;
      }
      first = last + 1;
    }
    return { records, count, nextOffset: fromOffset + count, endOffset: end };
  }

  /**
   * Copies the log's bytes [position, position + size) into `target` at `at` through the read blocks; the bytes
   * past what a block holds (a short read at a file's end) come from a direct read, which fills with what the
   * file has, so a record the file lacks fails its check instead of being served.
   */
  private async copyFromBlocks(position: number, size: number, target: Buffer, at: number): Promise<void> {
    const index = this.log.segmentIndexFor(position);
    const segmentBase = this.log.segments[index]!.base;
    const segmentEnd = this.log.segments[index + 1]?.base ?? segmentBase + this.options.segmentSizeBytes;
    let done = 0;
    while (done < size) {
      const { block, at: inBlock } = await this.blocks.blockAt(position + done, size - done, segmentBase, segmentEnd, this.appender.durableOffset);
      const n = Math.min(size - done, block.length - inBlock);
      if (n <= 0) {
        const rest = await this.log.read(position + done, size - done);
        rest.copy(target, at + done);
        target.fill(0, at + done + rest.length, at + size);
        return;
      }
      block.copy(target, at + done, inBlock, inBlock + n);
      done += n;
    }
  }

  /**
   * Why the record expected at `position` is not the one the consume queue names, or undefined if it is.
   * `fromMemory`: the bytes come from the tail cache, never from the disk, so their checksum was made or
   * verified by this process when they were appended and is not computed again.
   */
  private checkRecord(buf: Buffer, at: number, position: number, size: number, queueId: number, queueOffset: number, fromMemory: boolean): string | undefined {
    const header = readRecordHeader(buf, at, buf.length - at);
    if (typeof header === 'string') return header;
    if (header.physicalOffset !== position || header.totalLength !== size || header.type !== RecordType.MESSAGE) return 'misplaced';
    if (!fromMemory && !recordChecksumValid(buf, at, size)) return 'bad-checksum';
    const placement = readMessagePlacement(buf, at);
    if (placement.queueId !== queueId || placement.queueOffset !== queueOffset) return 'misplaced';
    return undefined;
  }

  private inCorruptRange(position: number, size: number): boolean {
    for (const range of this.corrupt) if (position < range.end && position + size > range.start) return true;
    return false;
  }

  private corruptedError(topic: string, queueId: number, queueOffset: number, physicalOffset: number, what: string): RoomqError {
    return new RoomqError(
      'MESSAGE_CORRUPTED',
      `message at queue offset ${queueOffset} of ${topic}/${queueId} (log offset ${physicalOffset}) ${what}; it is refused; restore it from a replica`,
      { details: { topic, queueId, offset: queueOffset, physicalOffset } },
    );
  }

  /** Reports a bad record found by a read; the range is kept (and persisted) so later reads refuse it at once. */
  private noteCorrupt(topic: string, queueId: number, queueOffset: number, position: number, size: number, problem: string): RoomqError {
    const segment = this.log.segments[this.log.segmentIndexFor(position)]?.path ?? 'unknown';
    const reason = `corrupt bytes [${position}, ${position + size}) in segment ${segment} (${problem}); the range is refused; restore it from a replica`;
    if (!this.inCorruptRange(position, size)) {
      this.logger.error({ start: position, end: position + size, segment, problem, topic, queueId, queueOffset }, reason);
      this.corrupt.push({ start: position, end: position + size, reason });
    }
    return this.corruptedError(topic, queueId, queueOffset, position, `fails its check (${problem})`);
  }

  /** Resolves when queueEnd > afterOffset; rejects ABORTED on abort, CLOSED on close. */
  waitForData(topic: string, queueId: number, afterOffset: number, signal: AbortSignal): Promise<void> {
    if (this.stateValue === 'closed') return Promise.reject(new RoomqError('CLOSED', 'the store is closed'));
    return this.queueFor(topic, queueId).waitForData(afterOffset, signal);
  }

  async lookupMessageId(messageId: string): Promise<MessageRecord | undefined> {
    for await (const candidate of this.index.candidates(messageIdHash(messageId))) {
      const record = await this.readIndexed(candidate.physicalOffset, candidate.size);
      if (record && record.messageId === messageId) return record;
    }
    return undefined;
  }

  /** Messages of `topic` carrying `key`, newest first, at most `limit`. */
  async lookupKey(topic: string, key: string, limit: number): Promise<MessageRecord[]> {
    const found: MessageRecord[] = [];
    const seen = new Set<number>();
    if (limit <= 0) return found;
    for await (const candidate of this.index.candidates(keyHash(topic, key))) {
      if (seen.has(candidate.physicalOffset)) continue;
      seen.add(candidate.physicalOffset);
      const record = await this.readIndexed(candidate.physicalOffset, candidate.size);
      if (record && record.topic === topic && record.keys.includes(key)) {
        found.push(record);
        if (found.length >= limit) break;
      }
    }
    return found;
  }

  private async readIndexed(position: number, size: number): Promise<MessageRecord | undefined> {
    if (position + size > this.appender.durableOffset || this.inCorruptRange(position, size)) return undefined;
    const buf = await this.log.read(position, size);
    try {
      const record = decodeRecord(buf, 0, buf.length);
      if (record.type !== RecordType.MESSAGE || record.physicalOffset !== position) return undefined;
      // The body is a view of `buf`, which this record owns alone.
      return record;
    } catch (err) {
      this.logger.error({ err, physicalOffset: position }, 'indexed record fails its checks; skipped');
      return undefined;
    }
  }

  queues(): Array<{ topic: string; queueId: number; endOffset: number }> {
    const out: Array<{ topic: string; queueId: number; endOffset: number }> = [];
    for (const queue of this.consumeQueues.values()) {
      if (queue.visibleEnd > 0) out.push({ topic: queue.topic, queueId: queue.queueId, endOffset: queue.visibleEnd });
    }
    return out;
  }

  stats(): StoreStats {
    return {
      state: this.stateValue,
      role: this.roleValue,
      ...(this.failureValue ? { failure: this.failureValue.message } : {}),
      flushMode: this.options.flushMode,
      logEndOffset: this.appender.durableOffset,
      flushedOffset: this.appender.syncedOffset,
      segmentCount: this.log.segments.length,
      corruptRanges: this.corrupt.map((r) => ({ ...r })),
    };
  }

  private queueFor(topic: string, queueId: number): ConsumeQueue {
    const recent = this.recentQueue;
    if (recent && recent.queueId === queueId && recent.topic === topic) return recent;
    let byId = this.queuesByTopic.get(topic);
    if (!byId) {
      byId = [];
      this.queuesByTopic.set(topic, byId);
    }
    let queue = byId[queueId];
    if (!queue) {
      const dir = join(this.options.dataDir, 'consumequeue', topic, String(queueId));
      queue = new ConsumeQueue(this.io, topic, queueId, dir, this.options.consumeQueueEntriesPerFile);
      this.consumeQueues.set(queueKey(topic, queueId), queue);
      byId[queueId] = queue;
    }
    this.recentQueue = queue;
    return queue;
  }

  // -------------------------------------------------------------------------------------------------------
  // Replication (the replicator's ReplicaLog, implemented structurally: the broker does not depend on it)

  /** Where the next record will be written: the end of what is written, or the next segment's base when spent. */
  logEndOffset(): number {
    return this.appender.nextRecordOffset();
  }

  /** Log bytes before this are durable under the flush mode (fdatasynced in sync mode, written in async). */
  durableOffset(): number {
    return this.nextRecordAt(this.appender.durableOffset);
  }

  segmentSizeBytes(): number {
    return this.options.segmentSizeBytes;
  }

  /** `position`, or the next segment's base when the record ending there left too little room for another. */
  private nextRecordAt(position: number): number {
    let segmentEnd: number;
    if (position >= this.appender.segmentBase) segmentEnd = this.appender.segmentEnd;
    else segmentEnd = this.log.segments[this.log.segmentIndexFor(position) + 1]?.base ?? this.appender.segmentBase;
    return segmentEnd - position < RECORD_HEADER_SIZE ? segmentEnd : position;
  }

  /**
   * Whole, checksum-verified, durable records from `from`, at most `maxBytes` unless the first record alone is
   * bigger; a SEGMENT_END record ends the answer, so it never spans segments. Empty when nothing durable lies
   * past `from`. `from` may also be the end of a segment's data (after its SEGMENT_END, or in its unused tail):
   * the answer then starts at the next segment's base, which its first record names. Throws INVALID_OFFSET
   * when `from` is past the durable end or no record starts there, MESSAGE_CORRUPTED when the record there
   * fails its checksum or lies in a known corrupt range.
   */
  async readLog(from: number, maxBytes: number, into?: Buffer): Promise<Buffer> {
    if (this.stateValue === 'closed') throw new RoomqError('CLOSED', 'the store is closed');
    const durable = this.durableOffset();
    if (!Number.isSafeInteger(from) || from < 0 || from > durable) {
      throw new RoomqError('INVALID_OFFSET', `log offset ${from} is outside the durable log [0, ${durable}); read from at most ${durable}`, {
        details: { offset: from, durableOffset: durable },
      });
    }
    let position = this.nextRecordAt(from);
    if (position >= durable) return EMPTY;
    let limit = this.readLimit(position);
    // From the tail cache when it holds the range, else the file; checksums are checked only on file bytes.
    let fromMemory = true;
    const read = async (at: number, length: number): Promise<Buffer> => {
      const target = into && length <= into.length ? into.subarray(0, length) : Buffer.allocUnsafe(length);
      if (this.tail.copyTo(at, length, target, 0)) return target;
      fromMemory = false;
      return this.log.read(at, length, target);
    };
    let buf = await read(position, Math.min(limit - position, Math.max(maxBytes, RECORD_HEADER_SIZE)));
    if (buf.length === 0 && (await this.endsSegmentData(position))) {
      // The end of a segment's data, before the durable end: the log continues at the next segment.
      position = this.log.segments[this.log.segmentIndexFor(position) + 1]!.base;
      if (position >= durable) return EMPTY;
      limit = this.readLimit(position);
      buf = await read(position, Math.min(limit - position, Math.max(maxBytes, RECORD_HEADER_SIZE)));
    }
    const first = readRecordHeader(buf, 0, buf.length);
    if (first === 'short' && buf.length >= RECORD_HEADER_SIZE) {
      const claimed = buf.readUInt32BE(0);
      if (claimed > buf.length && position + claimed <= limit) buf = await read(position, claimed);
    }
    return this.wholeRecords(buf, position, maxBytes, from, fromMemory);
  }

  /**
   * The records of `buf` (log bytes read at `position`) that readLog may serve: whole, in place, unharmed, up to
   * a SEGMENT_END or `maxBytes`. Checksums are verified unless the bytes come from memory (see checkRecord).
   */
  private wholeRecords(buf: Buffer, position: number, maxBytes: number, from: number, fromMemory: boolean): Buffer {
    let at = 0;
    while (at < buf.length) {
      const record = position + at;
      const header = readRecordHeader(buf, at, buf.length - at);
      const misplaced = typeof header === 'string' || header.physicalOffset !== record;
      const bad = misplaced || this.inCorruptRange(record, header.totalLength) || (!fromMemory && !recordChecksumValid(buf, at, header.totalLength));
      if (bad) {
        if (at > 0) break; // served up to the bad one; a read from it reports it
        if (this.inCorruptRange(record, RECORD_HEADER_SIZE) || (!misplaced && typeof header !== 'string')) {
          throw new RoomqError('MESSAGE_CORRUPTED', `log record at ${record} fails its checks; it is refused; restore it from another member`, {
            details: { offset: record },
          });
        }
        throw new RoomqError('INVALID_OFFSET', `no record starts at log offset ${from}; read from a record boundary such as logEndOffset() of the reader`, {
          details: { offset: from },
        });
      }
      at += header.totalLength;
      if (header.type === RecordType.SEGMENT_END || at >= maxBytes) break;
    }
    return at === buf.length ? buf : buf.subarray(0, at);
  }

  /** Exclusive end of the durable bytes readable from `position` in its segment. */
  private readLimit(position: number): number {
    const index = this.log.segmentIndexFor(position);
    const segmentEnd = this.log.segments[index + 1]?.base ?? Number.MAX_SAFE_INTEGER;
    return Math.min(this.appender.durableOffset, segmentEnd);
  }

  /** Resolves once durableOffset() > `after`; rejects ABORTED on abort, CLOSED on close, STORAGE_FAILED on failure. */
  waitForDurable(after: number, signal: AbortSignal): Promise<void> {
    if (this.stateValue === 'closed') return Promise.reject(new RoomqError('CLOSED', 'the store is closed'));
    if (this.durableOffset() > after) return Promise.resolve();
    if (this.stateValue === 'failed') return Promise.reject(this.failureValue);
    return this.durableWaiters.wait(after, signal);
  }

  private notifyDurable(): void {
    this.durableWaiters.advance(this.durableOffset());
  }

  private rejectDurableWaiters(err: unknown): void {
    this.durableWaiters.rejectAll(err);
  }

  /**
   * Appends records copied from the upstream at `at`, which must equal logEndOffset(). Every record is checked
   * (header, checksum, its physical offset equals where it lands, its queue offset is the next of its queue);
   * a bad one rejects the call and nothing is written. Goes through the same group commit as appendMessages, so
   * it resolves once durable per the flush mode; its messages then read at the queue offsets they carry and
   * its OFFSET_COMMIT records are in force. Only a replica takes it (setRole). The log is written from `records`
   * in place, with no copy: the caller must not change it once handed over. Once the call resolves nothing here
   * holds a view of it (the tail cache keeps a copy), so the caller may reuse the memory.
   */
  appendReplicated(at: number, records: Buffer): Promise<void> {
    const refused = this.writeRefusal();
    if (refused) return Promise.reject(refused);
    if (this.roleValue !== 'replica') return Promise.reject(this.roleRefusal('appendReplicated'));
    const end = this.logEndOffset();
    if (at !== end) {
      return Promise.reject(
        new RoomqError('BAD_REQUEST', `appendReplicated at log offset ${at}, but this log ends at ${end}; read from the upstream at ${end}`, {
          details: { offset: at, logEndOffset: end },
        }),
      );
    }
    if (records.length === 0) return Promise.resolve();
    let planned: ReplicatedRecord[];
    try {
      planned = this.planReplicated(records);
    } catch (err) {
      return Promise.reject(err);
    }
    const appender = this.appender;
    let messages = 0;
    const commits: OffsetCommitRecord[] = [];
    // The records go to the log as runs of `records` itself, not copied: a run ends where the log continues
    // at a new segment (after a copied SEGMENT_END, or where too little room was left for one).
    let runStart = 0;
    let runEnd = 0;
    let runLast = 0;
    const writeRun = (): void => {
      if (runEnd > runStart) appender.appendEncoded(records.subarray(runStart, runEnd), runLast);
      runStart = runEnd;
    };
    try {
      for (const record of planned) {
        if (record.position + record.size > appender.segmentEnd) {
          writeRun();
          // Too little room was left for a SEGMENT_END record: the log continues at the next segment, as reserve() does.
          if (appender.segmentEnd - appender.writePosition < RECORD_HEADER_SIZE) appender.endSegment();
        }
        if (record.position !== appender.writePosition + (runEnd - runStart)) {
          throw new Error(`replicated record planned at log offset ${record.position}, but the log continues at ${appender.writePosition + (runEnd - runStart)}`);
        }
        runEnd = record.at + record.size;
        runLast = record.position;
        if (record.type === RecordType.SEGMENT_END) {
          writeRun();
          appender.endSegment();
        } else if (record.commit) commits.push(record.commit);
        else if (record.topic !== undefined) {
          const queue = this.queueFor(record.topic, record.queueId);
          if (!queue.sealPending) {
            queue.sealPending = true;
            this.unsealedQueues.push(queue);
          }
          queue.append(record.position, record.size, record.tagHash);
          messages++;
        }
      }
      writeRun();
    } catch (err) {
      // The plan mirrors the appender; if they ever disagree, bytes may be reserved that must not be written.
      this.fail(err);
      return Promise.reject(this.failureValue);
    }
    if (messages > 0) this.unindexedReplicated.push(planned);
    return new Promise((resolve, reject) => {
      appender.commit({
        durable: () => {
          for (const commit of commits) this.raiseOffset(offsetKey(commit.group, commit.topic, commit.queueId), commit.offset);
          resolve();
        },
        failed: () => reject(this.failureValue),
      });
    });
  }

  /** Verifies a replicated chunk and works out where each record lands, changing nothing. */
  private planReplicated(records: Buffer): ReplicatedRecord[] {
    const segmentSize = this.options.segmentSizeBytes;
    let position = this.appender.writePosition;
    let segmentEnd = this.appender.segmentEnd;
    const queues: PlannedQueue[] = [];
    const planned: ReplicatedRecord[] = [];
    const layout = this.sectionLayout;
    // Records of one topic follow one another: its name is decoded (and its key seed hashed) once per run.
    let topic = '';
    let topicStart = -1;
    let topicLength = 0;
    let keySeed = 0;
    const corrupt = (at: number, problem: string): RoomqError =>
      new RoomqError('MESSAGE_CORRUPTED', `replicated record at byte ${at} of the chunk (log offset ${position}) ${problem}; nothing of the chunk was written`, {
        details: { offset: position },
      });
    for (let at = 0; at < records.length; ) {
      const header = readRecordHeader(records, at, records.length - at);
      if (typeof header === 'string') throw corrupt(at, `is unreadable (${header})`);
      const size = header.totalLength;
      if (position + size > segmentEnd) {
        if (segmentEnd - position >= RECORD_HEADER_SIZE) {
          throw corrupt(at, `crosses the segment end ${segmentEnd} without a SEGMENT_END record before it; every member must use segmentSizeBytes ${segmentSize}`);
        }
        position = segmentEnd;
        segmentEnd += segmentSize;
        if (size > segmentSize) throw corrupt(at, `is bigger than a ${segmentSize}-byte segment`);
      }
      if (header.physicalOffset !== position) throw corrupt(at, `names log offset ${header.physicalOffset}, not where it lands`);
      if (!recordChecksumValid(records, at, size)) throw corrupt(at, 'fails its checksum');
      const record: ReplicatedRecord = {
        at,
        size,
        position,
        type: header.type,
        storeTimestampMs: header.storeTimestampMs,
        topic: undefined,
        queueId: 0,
        queueOffset: 0,
        tagHash: 0,
        idHash: 0,
        keyHashes: undefined,
        commit: undefined,
      };
      if (header.type === RecordType.MESSAGE) {
        try {
          layoutMessageSection(records, at + MESSAGE_FIXED_SIZE, at + size, layout);
        } catch (err) {
          throw corrupt(at, `has a message section that does not parse (${(err as Error).message})`);
        }
        const length = layout.topicEnd - layout.topicStart;
        if (topicStart < 0 || length !== topicLength || !sameBytes(records, topicStart, layout.topicStart, length)) {
          topic = records.toString('utf8', layout.topicStart, layout.topicEnd);
          keySeed = keyHashSeed(topic);
        }
        topicStart = layout.topicStart;
        topicLength = length;
        const { queueId, queueOffset } = readMessagePlacement(records, at);
        let queue: PlannedQueue | undefined;
        for (let i = 0; i < queues.length; i++) {
          const q = queues[i]!;
          if (q.queueId === queueId && q.topic === topic) {
            queue = q;
            break;
          }
        }
        if (!queue) {
          queue = { topic, queueId, next: this.queuesByTopic.get(topic)?.[queueId]?.assignedEnd ?? 0 };
          queues.push(queue);
        }
        if (queueOffset !== queue.next) {
          throw new RoomqError(
            'REPLICA_DIVERGED',
            `replicated message at log offset ${position} has queue offset ${queueOffset} in ${topic}/${queueId}, where this replica expects ${queue.next}; the logs differ before ${position}: truncate to the last common record and copy again`,
            { details: { topic, queueId, offset: queueOffset, physicalOffset: position } },
          );
        }
        queue.next++;
        record.topic = topic;
        record.queueId = queueId;
        record.queueOffset = queueOffset;
        record.tagHash = hashTagBytes(records, layout.tagStart, layout.tagEnd);
        record.idHash = messageIdHashBytes(records, layout.messageIdStart, layout.messageIdEnd);
        if (layout.keyCount > 0) {
          const keyHashes: number[] = new Array(layout.keyCount);
          let k = layout.keysAt;
          for (let i = 0; i < layout.keyCount; i++) {
            const n = records.readUInt16BE(k);
            keyHashes[i] = keyHashBytesWithSeed(keySeed, records, k + 2, k + 2 + n);
            k += 2 + n;
          }
          record.keyHashes = keyHashes;
        }
      } else if (header.type === RecordType.OFFSET_COMMIT) {
        const decoded = decodeRecord(records, at, size);
        if (decoded.type === RecordType.OFFSET_COMMIT) record.commit = decoded;
      }
      planned.push(record);
      at += size;
      position += size;
      if (header.type === RecordType.SEGMENT_END) {
        position = segmentEnd;
        segmentEnd += segmentSize;
      }
    }
    return planned;
  }

  /** Start offset and CRC (header field) of the last durable record; undefined when the log is empty. */
  async lastRecord(): Promise<{ offset: number; crc: number } | undefined> {
    const offset = this.appender.lastDurableRecord;
    if (offset === undefined) return undefined;
    const crc = await this.recordCrcAt(offset);
    return crc === undefined ? undefined : { offset, crc };
  }

  /** CRC (header field) of the durable record starting at `offset`, or undefined when none starts there. */
  async recordCrcAt(offset: number): Promise<number | undefined> {
    if (this.stateValue === 'closed') throw new RoomqError('CLOSED', 'the store is closed');
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + RECORD_HEADER_SIZE > this.appender.durableOffset) return undefined;
    const buf = await this.log.read(offset, RECORD_HEADER_SIZE);
    if (buf.length < RECORD_HEADER_SIZE) return undefined;
    // Only the header is read: `available` lets the parser accept a record longer than it.
    const header = readRecordHeader(buf, 0, this.appender.durableOffset - offset);
    if (typeof header === 'string' || header.physicalOffset !== offset) return undefined;
    return header.crc;
  }

  /**
   * Cuts the log back to `offset` (a record boundary at or before logEndOffset()), with every consume-queue
   * entry, index entry and offset-table effect of the records past it, and returns the removed log bytes
   * (segment data concatenated: whole records naming their own offsets). Waits for pending writes first and
   * refuses new ones (UNAVAILABLE) while it runs. The cut is durable when it resolves: a crash before then
   * leaves either the whole old log or the cut one, each with matching derived data.
   */
  truncate(offset: number): Promise<Buffer> {
    const refused = this.writeRefusal();
    if (refused) return Promise.reject(refused);
    const run = this.truncateNow(offset).finally(() => (this.truncating = undefined));
    this.truncating = run;
    return run;
  }

  private async truncateNow(offset: number): Promise<Buffer> {
    await this.appender.idle();
    if (this.checkpointing) await this.checkpointing.catch(() => undefined);
    if (this.syncing) await this.syncing;
    if (this.stateValue !== 'ready') throw this.failureValue ?? new RoomqError('CLOSED', 'the store is closed');
    const end = this.appender.writePosition;
    const logEnd = this.logEndOffset();
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > logEnd) {
      throw new RoomqError('INVALID_OFFSET', `cannot truncate to log offset ${offset}: the log holds [0, ${logEnd})`, { details: { offset, logEndOffset: logEnd } });
    }
    if (offset >= end) return EMPTY;
    if (!(await this.isRecordBoundary(offset))) {
      throw new RoomqError('INVALID_OFFSET', `cannot truncate to log offset ${offset}: no record starts there; truncate to a record boundary`, { details: { offset } });
    }
    try {
      const removed = await readLogRange(this.log, offset, end);
      // Work out the state as of `offset` before changing anything.
      const queueCounts: Array<[ConsumeQueue, number]> = [];
      for (const queue of this.consumeQueues.values()) queueCounts.push([queue, await queue.countBefore(offset)]);
      const indexTotal = await this.index.countBefore(offset);
      const affected = this.committedKeysIn(removed);
      const restored = affected.size > 0 ? await lastOffsetCommits(this.log, offset, affected, offsetKey, this.corrupt) : new Map<string, number>();
      const lastRecord = await lastRecordBefore(this.log, offset, this.corrupt);

      for (const [queue, count] of queueCounts) await queue.truncateEntries(count);
      await this.index.truncateEntries(indexTotal);
      for (const key of affected) {
        const value = restored.get(key);
        if (value === undefined) this.offsets.delete(key);
        else this.offsets.set(key, value);
      }
      this.pendingOffsets.clear();
      this.awaitingReplication = [];
      this.corrupt = this.corrupt.filter((r) => r.start < offset).map((r) => (r.end > offset ? { ...r, end: offset } : r));
      // The checkpoint goes first: a crash before the cut then replays the uncut records onto it (the log as
      // before), a crash after it finds derived data that matches the cut log.
      await this.writeCheckpoint({ offset, lastRecord });
      await this.appender.stopPreallocating();
      await this.log.truncate(offset);
      this.tail.clear();
      this.blocks.clear();
      this.appender = this.createAppender(offset, lastRecord);
      this.logger.warn({ offset, removedBytes: removed.length, previousEnd: end }, 'truncated the commit log');
      return removed;
    } catch (err) {
      this.fail(err);
      throw this.failureValue ?? err;
    }
  }

  /** True when a record starts at `offset`, or `offset` ends a segment's data (the log goes on at the next). */
  private async isRecordBoundary(offset: number): Promise<boolean> {
    const buf = await this.log.read(offset, RECORD_HEADER_SIZE);
    if (buf.length === 0) return this.endsSegmentData(offset);
    if (buf.length < RECORD_HEADER_SIZE) return false;
    const header = readRecordHeader(buf, 0, this.appender.writePosition - offset);
    return typeof header !== 'string' && header.physicalOffset === offset;
  }

  /** True when `position` is exactly where the data of a segment that is not the last one ends. */
  private async endsSegmentData(position: number): Promise<boolean> {
    const index = this.log.segmentIndexFor(position);
    if (index < 0 || index >= this.log.segments.length - 1) return false;
    const segment = this.log.segments[index]!;
    return position === segment.base + (await this.log.fileSize(segment));
  }

  /** Offset-table keys the OFFSET_COMMIT records of `bytes` (whole records) set; every key if unreadable. */
  private committedKeysIn(bytes: Buffer): Set<string> {
    const keys = new Set<string>();
    for (let at = 0; at < bytes.length; ) {
      const header = readRecordHeader(bytes, at, bytes.length - at);
      if (typeof header === 'string') return new Set(this.offsets.keys());
      if (header.type === RecordType.OFFSET_COMMIT) {
        try {
          const record = decodeRecord(bytes, at, header.totalLength);
          if (record.type === RecordType.OFFSET_COMMIT) keys.add(offsetKey(record.group, record.topic, record.queueId));
        } catch {
          return new Set(this.offsets.keys());
        }
      }
      at += header.totalLength;
    }
    return keys;
  }

  // -------------------------------------------------------------------------------------------------------
  // Failure, timers, checkpoints, close

  private fail(err: unknown): void {
    if (this.stateValue !== 'ready') return;
    const ioErr = err instanceof StorageIoError ? err : undefined;
    const what = ioErr?.what ?? 'internal error';
    const errno = ioErr?.errno ?? String(err);
    const path = ioErr?.path ?? this.options.dataDir;
    this.failureValue = new RoomqError(
      'STORAGE_FAILED',
      `broker storage stopped accepting writes: ${what}: ${errno}; nothing unflushed was acknowledged. Check the disk at ${path}, then restart the broker`,
      { cause: err, details: { path, errno } },
    );
    this.logger.error({ err, errno, path, what }, 'storage write failed; the store stops accepting writes');
    this.setState('failed');
    this.appender.fail(err);
    this.rejectDurableWaiters(this.failureValue);
  }

  /** Runs derived-data work off the hot path; a failure there is a disk failure. */
  private background(work: Promise<unknown>): void {
    work.catch((err: unknown) => this.fail(err));
  }

  private startTimers(): void {
    if (this.options.flushMode === 'async') {
      const timer = setInterval(() => {
        if (this.syncing || this.truncating || this.stateValue !== 'ready') return;
        this.syncing = this.appender
          .syncWritten()
          .then(
            () => undefined,
            (err: unknown) => this.fail(err),
          )
          .finally(() => (this.syncing = undefined));
      }, this.options.flushIntervalMs);
      timer.unref();
      this.timers.push(timer);
    }
    const timer = setInterval(() => {
      if (this.checkpointing || this.truncating || this.stateValue !== 'ready') return;
      this.background(this.checkpoint());
    }, this.options.checkpointIntervalMs);
    timer.unref();
    this.timers.push(timer);
  }

  /**
   * Persists consume queues, the index and the offset table as of the durable log end, fdatasyncs them and the
   * log, then atomically replaces the checkpoint.
   */
  private checkpoint(): Promise<void> {
    this.checkpointing ??= this.writeCheckpoint().finally(() => (this.checkpointing = undefined));
    return this.checkpointing;
  }

  /** `cut`: a truncation's checkpoint, describing the log as of the cut before the log is cut (see truncate). */
  private async writeCheckpoint(cut?: { offset: number; lastRecord: number | undefined }): Promise<void> {
    // Captured in one synchronous step, so every part describes the same log position. That position is where
    // visible entries end: the durable end, or where the first group held for the replicas starts (a sync:N
    // master), whose queue and index entries the visible counts below leave out. Recovery replays from there.
    const held = cut ? undefined : this.awaitingReplication[0];
    const derivedOffset = cut ? cut.offset : (held?.start ?? this.appender.durableOffset);
    const lastRecordOffset = cut ? cut.lastRecord : held ? undefined : this.appender.lastDurableRecord;
    const queues = [...this.consumeQueues.values()]
      .filter((q) => q.visibleEnd > 0)
      .map((q) => ({ topic: q.topic, queueId: q.queueId, entries: q.visibleEnd }));
    const indexEntries = this.index.visibleTotal;
    const offsets = [...this.offsets].map(([key, offset]) => {
      const [group, topic, queueId] = key.split('\u0000') as [string, string, string];
      return { group, topic, queueId: Number(queueId), offset };
    });
    const corruptRanges = this.corrupt.map((r) => ({ ...r }));
    const flushedOffset = await this.appender.syncWritten();
    const all = [...this.consumeQueues.values()];
    await Promise.all(all.map((q) => q.persist()));
    await this.index.persist();
    await Promise.all(all.map((q) => q.datasync()));
    await this.index.datasync();
    const data: CheckpointData = {
      flushedOffset: cut ? cut.offset : Math.max(flushedOffset, derivedOffset),
      derivedOffset,
      queues,
      indexEntries,
      offsets,
      corruptRanges,
      ...(lastRecordOffset !== undefined ? { lastRecordOffset } : {}),
    };
    await this.writeFileAtomically('checkpoint', encodeCheckpoint(data), 'write the checkpoint');
  }

  /** Replaces `<dataDir>/<name>` with `bytes`: temp file, fdatasync, rename, directory sync. */
  private async writeFileAtomically(name: string, bytes: Buffer, what: string): Promise<void> {
    const path = join(this.options.dataDir, name);
    const temp = `${path}.tmp`;
    await attempt(what, temp, async () => {
      const file = await this.io.open(temp, 'w+');
      try {
        await file.writev([bytes], 0);
        await file.datasync();
      } finally {
        await file.close();
      }
    });
    await attempt(what, path, () => this.io.rename(temp, path));
    await attempt(what, this.options.dataDir, () => syncDirectory(this.io, this.options.dataDir));
  }

  /**
   * Loads the overlay file (absent: empty). Unlike derived data it cannot be rebuilt, so an unusable one stops
   * the open instead of being ignored. Entries the log table already reaches are dropped.
   */
  private async loadOverlay(): Promise<void> {
    const path = join(this.options.dataDir, OVERLAY_FILE);
    const size = (await this.io.stat(path))?.size;
    if (size === undefined) return;
    const buf = Buffer.allocUnsafe(size);
    await attempt('read the offset overlay', path, async () => {
      const file = await this.io.open(path, 'r');
      try {
        await file.read(buf, 0, size, 0);
      } finally {
        await file.close();
      }
    });
    const decoded = decodeOverlay(buf);
    if (typeof decoded === 'string') {
      throw new RoomqError(
        'STORAGE_FAILED',
        `the offset overlay ${path} is unusable (${decoded}): it holds consumer offsets committed at this replica that nothing else may hold. Restore it from a backup, or move it aside to start without it (those consumers may then re-read messages)`,
        { details: { path } },
      );
    }
    let dropped = 0;
    for (const commit of decoded.offsets) {
      const key = offsetKey(commit.group, commit.topic, commit.queueId);
      if ((this.offsets.get(key) ?? -1) >= commit.offset) dropped++;
      else if (commit.offset > (this.overlay.get(key)?.offset ?? -1)) this.overlay.set(key, commit);
    }
    if (dropped > 0) await this.persistOverlay();
    if (this.overlay.size > 0) this.logger.info({ entries: this.overlay.size, dropped }, 'offset overlay loaded');
  }

  private async readCheckpoint(): Promise<CheckpointData | undefined> {
    const path = join(this.options.dataDir, 'checkpoint');
    const size = (await this.io.stat(path))?.size;
    if (size === undefined) return undefined;
    const buf = Buffer.allocUnsafe(size);
    await attempt('read the checkpoint', path, async () => {
      const file = await this.io.open(path, 'r');
      try {
        await file.read(buf, 0, size, 0);
      } finally {
        await file.close();
      }
    });
    const decoded = decodeCheckpoint(buf);
    if (typeof decoded === 'string') {
      this.logger.warn({ path, problem: decoded }, 'checkpoint unusable; rebuilding consume queues, indexes and offsets from the whole log');
      return undefined;
    }
    return decoded;
  }

  /** Idempotent: stops timers, waits for pending writes, persists derived data and writes the checkpoint. */
  close(): Promise<void> {
    this.closing ??= this.closeNow();
    return this.closing;
  }

  private async closeNow(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    if (this.truncating) await this.truncating.catch(() => undefined);
    await this.appender.stopPreallocating();
    await this.appender.idle();
    if (this.syncing) await this.syncing;
    if (this.checkpointing) await this.checkpointing.catch(() => undefined);
    // Overlay writes run until their promises settle; the last one may have been queued by the appends above.
    while (this.overlayWriting || this.overlayQueued) await (this.overlayQueued ?? this.overlayWriting)!.catch(() => undefined);
    if (this.stateValue === 'ready') {
      try {
        await this.checkpoint();
      } catch (err) {
        this.fail(err);
      }
    }
    const closed = new RoomqError('CLOSED', 'the store is closed');
    for (const queue of this.consumeQueues.values()) queue.rejectWaiters(closed);
    this.rejectDurableWaiters(closed);
    this.setState('closed');
    await this.closeFiles();
  }

  private async closeFiles(): Promise<void> {
    // Optional chaining: an open that failed may not have got this far.
    await this.appender?.stopPreallocating();
    await this.log?.close();
    await this.index?.close();
    for (const queue of this.consumeQueues.values()) await queue.close();
  }

  /** Said once per store: the operator learns why a replica costs more CPU than it should, without a line per segment. */
  private directWritesRefused(path: string, reason: Error): void {
    if (this.directWritesWarned) return;
    this.directWritesWarned = true;
    this.logger.warn({ segment: path, reason: reason.message }, 'this replica writes its log through the page cache: direct writes are not possible here');
  }

  /** A fresh appender continuing the log at `end` (after recovery or a truncation). */
  private createAppender(end: number, lastRecord: number | undefined): LogAppender {
    const segmentIndex = this.log.segmentIndexFor(end);
    let start = { position: end, segmentBase: end, segmentEnd: end + this.options.segmentSizeBytes, lastRecord };
    if (segmentIndex >= 0) {
      const segment = this.log.segments[segmentIndex]!;
      const segmentEnd = this.log.segmentEnd(segmentIndex, end - segment.base);
      start = { position: end, segmentBase: segment.base, segmentEnd, lastRecord };
    }
    const { flushMode, preallocateBytes } = this.options;
    // Async mode fdatasyncs once per interval, so preallocation would save little there for twice the writes.
    const zeroFill = flushMode === 'sync' && preallocateBytes > 0 ? { windowBytes: preallocateBytes, logger: this.logger } : undefined;
    const appender = new LogAppender(
      this.log,
      flushMode === 'sync',
      this.options.writeBufferBytes,
      (err) => this.fail(err),
      start,
      zeroFill,
      (groupStart) => this.sealGroup(groupStart),
      () => this.notifyDurable(),
      (position, bytes) => this.tail.add(position, bytes),
      this.options.replicaDirectWrites ? { wanted: () => this.roleValue === 'replica', refused: (path, reason) => this.directWritesRefused(path, reason) } : undefined,
    );
    appender.preallocate();
    return appender;
  }

  // -------------------------------------------------------------------------------------------------------
  // Recovery

  private async recover(): Promise<void> {
    const { dataDir } = this.options;
    await attempt('create the data directory', dataDir, () => this.io.mkdir(dataDir));
    this.log = await CommitLog.open(this.io, join(dataDir, 'commitlog'), this.options.segmentSizeBytes);
    this.tail = new LogTailCache(this.options.tailCacheBytes);
    this.blocks = new ReadBlockCache(this.options.readCacheBytes, (position, length, into) => this.log.read(position, length, into));
    const checkpoint = await this.readCheckpoint();
    const derivedOffset = checkpoint?.derivedOffset ?? 0;
    let scanFrom = derivedOffset;

    // Consume queues: keep what the checkpoint vouches for; a missing or shorter queue is rebuilt from where it
    // is complete.
    const expected = new Map<string, number>();
    for (const q of checkpoint?.queues ?? []) {
      expected.set(queueKey(q.topic, q.queueId), q.entries);
      this.queueFor(q.topic, q.queueId);
    }
    const cqRoot = join(dataDir, 'consumequeue');
    for (const topic of await this.io.readdir(cqRoot)) {
      for (const id of await this.io.readdir(join(cqRoot, topic))) {
        if (/^\d+$/.test(id)) this.queueFor(topic, Number(id));
      }
    }
    for (const [key, queue] of this.consumeQueues) {
      const limit = expected.get(key) ?? 0;
      const complete = await queue.load(limit);
      if (complete < limit) {
        const from = await queue.resumePosition();
        this.logger.warn({ topic: queue.topic, queueId: queue.queueId, entries: complete, expected: limit, fromOffset: from }, 'consume queue is behind; rebuilding it from the commit log');
        scanFrom = Math.min(scanFrom, from);
      }
    }
    this.index = new MessageIndex(this.io, join(dataDir, 'index'), this.options.indexSlots, this.options.indexEntriesPerFile);
    const indexFrom = (await this.index.load(checkpoint?.indexEntries ?? 0)) ? derivedOffset : 0;
    if (indexFrom < derivedOffset) this.logger.warn({}, 'message index is incomplete; rebuilding it from the commit log');
    scanFrom = Math.min(scanFrom, indexFrom);
    for (const o of checkpoint?.offsets ?? []) this.offsets.set(offsetKey(o.group, o.topic, o.queueId), o.offset);
    const known = checkpoint?.corruptRanges ?? [];

    // Verify and replay the log from the earliest point any derived structure needs.
    let lastEnd = scanFrom;
    let gapAt = scanFrom;
    let lastVisited: number | undefined;
    const visit = (buf: Buffer, at: number, header: RecordHeader): void => {
      const position = header.physicalOffset;
      lastVisited = position;
      if (position !== lastEnd) gapAt = lastEnd;
      lastEnd = position + header.totalLength;
      if (header.type === RecordType.MESSAGE) {
        const { queueId, queueOffset } = readMessagePlacement(buf, at);
        let summary: SectionSummary;
        try {
          summary = summarizeMessageSection(buf, at + MESSAGE_FIXED_SIZE, at + header.totalLength);
        } catch (err) {
          this.logger.error({ err, physicalOffset: position }, 'message record with a valid checksum does not parse; skipped');
          return;
        }
        const queue = this.queueFor(summary.topic, queueId);
        if (queueOffset >= queue.assignedEnd) {
          if (queueOffset > queue.assignedEnd) {
            this.logger.error(
              { topic: summary.topic, queueId, from: queue.assignedEnd, to: queueOffset, physicalOffset: gapAt },
              'messages of this queue were lost in a corrupt log range; reads of them are refused',
            );
            while (queue.assignedEnd < queueOffset) queue.append(gapAt, 0, 0);
          }
          queue.append(position, header.totalLength, hashTag(summary.tag));
        }
        if (position >= indexFrom) this.indexMessage(summary, position, header.totalLength);
      } else if (header.type === RecordType.OFFSET_COMMIT && position >= derivedOffset) {
        const record = decodeRecord(buf, at, header.totalLength);
        if (record.type === RecordType.OFFSET_COMMIT) {
          const key = offsetKey(record.group, record.topic, record.queueId);
          this.offsets.set(key, Math.max(this.offsets.get(key) ?? 0, record.offset));
        }
      }
    };
    const scanned = await scanLog(this.log, scanFrom, checkpoint?.flushedOffset ?? 0, visit, this.logger);
    this.corrupt = [...known.filter((r) => !scanned.corrupt.some((s) => s.start === r.start)), ...scanned.corrupt];
    for (const queue of this.consumeQueues.values()) queue.setVisibleEnd(queue.assignedEnd);
    this.index.visibleTotal = this.index.total;

    const end = scanned.end;
    let lastRecord = lastVisited;
    if (lastRecord === undefined && end > 0) {
      const hint = checkpoint?.lastRecordOffset;
      lastRecord = hint !== undefined && hint < end ? hint : await lastRecordBefore(this.log, end, this.corrupt);
    }
    this.appender = this.createAppender(end, lastRecord);
    // Everything recovered is on disk; record it so the next open starts from here.
    await this.writeCheckpoint();
    await this.loadOverlay();
  }
}
