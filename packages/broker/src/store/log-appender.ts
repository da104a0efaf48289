import { RECORD_HEADER_SIZE, writeSegmentEndRecord } from '@roomq/protocol';
import type { Logger } from 'pino';
import { StorageIoError, attempt, type CommitLog } from './commit-log.js';
import type { StoreFile } from './file-io.js';
import { ZeroAhead } from './zero-ahead.js';

/**
 * A reusable write buffer; `refs` counts flush groups still writing from it. `external` marks a caller's buffer
 * written in place (appendEncoded), which is never pooled.
 */
interface WriteBuffer {
  buf: Buffer;
  refs: number;
  external?: true;
}

interface Part {
  wb: WriteBuffer;
  start: number;
  end: number;
}

/** Bytes of one group that go to one segment, starting at `filePosition` in it. */
interface Chunk {
  segmentBase: number;
  filePosition: number;
  parts: Part[];
  /** parts[0, writtenParts) (`writtenBytes` bytes) are already being written by `writes` (see writeAhead). */
  writtenParts: number;
  writtenBytes: number;
  writes: Array<Promise<void>>;
}

/** Waits for the records reserved before its commit. */
export interface CommitWaiter {
  /** The records are durable per the mode; runs in log order. */
  durable(): void;
  /** The store failed before they were. */
  failed(err: unknown): void;
}

/** The owner's per-group work, so nothing of it has to be done per message or per commit. */
export interface SealedGroup {
  /**
   * Work that can overlap the disk: runs once the group's bytes are handed to the disk (after the fdatasync is
   * issued in sync mode, after the write in async mode), before the group can be durable. Skipped if the
   * appender fails first.
   */
  whileWriting(): void;
  /** Runs once the group is durable, before its waiters. */
  durable(): void;
}

/** Called when a group closes (nothing more joins it), with the log offset where the group starts. */
export type SealHook = (groupStart: number) => SealedGroup | undefined;

/** Zero-filled space kept ahead of the write position (zero-ahead.ts). */
export interface ZeroFillOptions {
  windowBytes: number;
  logger: Logger;
}

/** Which segments the appender writes around the page cache (direct-file.ts). */
export interface DirectWriteOptions {
  /** Asked when a segment is opened for writing: a store writes directly while it is a replica. */
  wanted(): boolean;
  /** The segment at `path` is written through the page cache after all, for `reason`. */
  refused(path: string, reason: Error): void;
}

/** Everything appended between two flushes: written with one writev (per segment) and one fdatasync. */
interface FlushGroup {
  chunks: Chunk[];
  endOffset: number;
  /** Start of the group's last record (undefined while it holds none). */
  lastRecord: number | undefined;
  waiters: CommitWaiter[];
}

const MAX_POOLED_BUFFERS = 4;
/**
 * An open group holding this many unwritten bytes starts writing them at once, so the kernel copies them into
 * the page cache (on a libuv thread) while later appends of the group are still being encoded.
 */
const WRITE_AHEAD_BYTES = 64 * 1024;

function newChunk(segmentBase: number, filePosition: number): Chunk {
  return { segmentBase, filePosition, parts: [], writtenParts: 0, writtenBytes: 0, writes: [] };
}

/**
 * Groups up to this size are written (and in sync mode fdatasynced) on the event loop thread: a light load
 * (one message in flight, or a few per millisecond) then waits for the disk alone instead of also for one or
 * two thread-pool round trips (~0.1 ms here). Bigger groups, which come with load, stay off the loop so
 * encoding overlaps the disk.
 */
const INLINE_SYNC_MAX_BYTES = 32 * 1024;

/** Runs `work.whileWriting` while `io` is in progress; returns what is left to run (nothing). */
function overlap(work: SealedGroup | undefined, io: Promise<unknown>): undefined {
  if (!work) return undefined;
  try {
    work.whileWriting();
  } catch (err) {
    io.catch(() => undefined); // the caller sees `err`, not an unhandled rejection
    throw err;
  }
  return undefined;
}

/**
 * Encodes records straight into reusable buffers and writes them with group commit: while one write (+ fdatasync
 * in sync mode) is in progress, new appends gather in the next group, which then goes out as one writev and one
 * fdatasync. Callbacks of a group run only after the group is durable per the mode, in log order.
 */
export class LogAppender {
  /** Next physical offset to hand out. */
  writePosition: number;
  /** Everything before this is written (async) or fdatasynced (sync), and acknowledged. */
  durableOffset: number;
  /** Everything before this is fdatasynced. */
  syncedOffset: number;
  /** Start of the last durable record; undefined when the log is empty. */
  lastDurableRecord: number | undefined;
  /** Start of the last reserved record. */
  private lastReserved: number | undefined;
  /** The segment writePosition is in: [segmentBase, segmentEnd). */
  segmentBase: number;
  segmentEnd: number;
  private active: WriteBuffer;
  private activePosition = 0;
  /** Start of the active buffer's bytes not yet handed to a group. */
  private activeGroupStart = 0;
  private readonly pool: WriteBuffer[] = [];
  private group: FlushGroup;
  private flushing = false;
  private scheduled = false;
  private failure: unknown;
  private lastWritten: { base: number; file: StoreFile; path: string } | undefined;
  private idleWaiters: Array<() => void> = [];
  private inFlight: FlushGroup | undefined;
  /** Segments ended whose file is not yet cut to their data (it may hold zero-filled space past it). */
  private readonly ended: Array<{ base: number; dataEnd: number }> = [];
  private zeroAhead: ZeroAhead | undefined;
  /** Bytes of the last durable group. */
  private lastGroupBytes = 0;
  /** Where the last reserve() put its record: `slotBuf[slotAt, slotAt + size)`. Valid until the next reserve. */
  slotBuf: Buffer;
  slotAt = 0;

  constructor(
    private readonly log: CommitLog,
    private readonly sync: boolean,
    private readonly bufferBytes: number,
    private readonly onFailure: (err: unknown) => void,
    start: { position: number; segmentBase: number; segmentEnd: number; lastRecord?: number | undefined },
    /** Undefined: no preallocation. */
    private zeroFill: ZeroFillOptions | undefined,
    private readonly onSeal: SealHook = () => undefined,
    /** Runs each time durableOffset advances, after the group's SealedGroup.durable and before its waiters. */
    private readonly onDurable: () => void = () => undefined,
    /**
     * Sees every run of bytes a group wrote, at its log position, once written (and fdatasynced in sync mode)
     * and before durableOffset covers it; the buffer is reused afterwards, so keep a copy, not the view.
     */
    private readonly onWritten: (position: number, bytes: Buffer) => void = () => undefined,
    /** Undefined: every segment is written through the page cache. */
    private readonly directWrites: DirectWriteOptions | undefined = undefined,
  ) {
    this.writePosition = start.position;
    this.durableOffset = start.position;
    this.syncedOffset = start.position;
    this.lastDurableRecord = start.lastRecord;
    this.lastReserved = start.lastRecord;
    this.segmentBase = start.segmentBase;
    this.segmentEnd = start.segmentEnd;
    this.active = { buf: Buffer.allocUnsafeSlow(bufferBytes), refs: 0 };
    this.slotBuf = this.active.buf;
    this.group = this.newGroup(start.position);
  }

  private newGroup(position: number): FlushGroup {
    return {
      chunks: [newChunk(this.segmentBase, position - this.segmentBase)],
      endOffset: position,
      lastRecord: undefined,
      waiters: [],
    };
  }

  /**
   * Space for one record of `size` bytes (which must fit in an empty segment), rolling the segment if needed.
   * Returns its physical offset; the caller encodes it at `slotBuf[slotAt]` before the next reserve.
   */
  reserve(size: number, storeTimestampMs: number): number {
    if (this.writePosition + size > this.segmentEnd) {
      if (this.segmentEnd - this.writePosition >= RECORD_HEADER_SIZE) {
        const physicalOffset = this.reserveBytes(RECORD_HEADER_SIZE);
        writeSegmentEndRecord(this.slotBuf, this.slotAt, physicalOffset, storeTimestampMs);
      }
      this.endSegment();
    }
    return this.reserveBytes(size);
  }

  /**
   * Continues the log at the next segment's base. reserve() does this itself; a replica calls it after copying
   * its upstream's SEGMENT_END record, so the next record lands where it did upstream.
   */
  endSegment(): void {
    this.sealActive();
    this.ended.push({ base: this.segmentBase, dataEnd: this.writePosition });
    const base = this.segmentEnd;
    this.segmentBase = base;
    this.segmentEnd = base + this.log.segmentSizeBytes;
    this.writePosition = base;
    this.group.chunks.push(newChunk(base, 0));
  }

  /** Where the next record starts: writePosition, or the next segment's base when too little room is left. */
  nextRecordOffset(): number {
    return this.segmentEnd - this.writePosition < RECORD_HEADER_SIZE ? this.segmentEnd : this.writePosition;
  }

  private reserveBytes(size: number): number {
    if (this.active.buf.length - this.activePosition < size) {
      this.sealActive();
      this.retire(this.active);
      this.active = this.pool.pop() ?? { buf: Buffer.allocUnsafeSlow(Math.max(this.bufferBytes, size)), refs: 0 };
      if (this.active.buf.length < size) this.active = { buf: Buffer.allocUnsafeSlow(size), refs: 0 };
      this.activePosition = 0;
      this.activeGroupStart = 0;
    }
    const physicalOffset = this.writePosition;
    this.lastReserved = physicalOffset;
    this.slotBuf = this.active.buf;
    this.slotAt = this.activePosition;
    this.activePosition += size;
    this.writePosition += size;
    return physicalOffset;
  }

  /**
   * Adds `bytes`, whole records already encoded (a replica's copy of its upstream's log), at the write position
   * without copying them: they are written from `bytes` itself, which must stay unchanged until the group is
   * durable or failed. They must fit in the current segment; `lastRecord` is the log offset of the last record's
   * start. Returns the log offset of the first byte. A replica's copied SEGMENT_END is followed by endSegment().
   */
  appendEncoded(bytes: Buffer, lastRecord: number): number {
    const position = this.writePosition;
    if (position + bytes.length > this.segmentEnd) {
      throw new Error(`${bytes.length} encoded bytes at log offset ${position} cross the segment end ${this.segmentEnd}`);
    }
    if (bytes.length === 0) return position;
    this.sealActive();
    this.group.chunks[this.group.chunks.length - 1]!.parts.push({ wb: { buf: bytes, refs: 1, external: true }, start: 0, end: bytes.length });
    this.writePosition += bytes.length;
    this.lastReserved = lastRecord;
    return position;
  }

  /** Hands the active buffer's pending bytes to the current group's last chunk. */
  private sealActive(): void {
    if (this.activePosition === this.activeGroupStart) return;
    this.active.refs++;
    this.group.chunks[this.group.chunks.length - 1]!.parts.push({ wb: this.active, start: this.activeGroupStart, end: this.activePosition });
    this.activeGroupStart = this.activePosition;
  }

  private retire(wb: WriteBuffer): void {
    if (wb.refs === 0 && !wb.external && wb !== this.active && wb.buf.length === this.bufferBytes && this.pool.length < MAX_POOLED_BUFFERS) this.pool.push(wb);
  }

  /**
   * Completes the current batch of reservations: `waiter.durable` runs once they are durable per the mode,
   * `waiter.failed` if the store fails first.
   */
  commit(waiter: CommitWaiter): void {
    if (this.failure !== undefined) {
      waiter.failed(this.failure);
      return;
    }
    this.group.waiters.push(waiter);
    this.group.endOffset = this.writePosition;
    this.group.lastRecord = this.lastReserved;
    const chunk = this.group.chunks[this.group.chunks.length - 1]!;
    if (this.writePosition - this.segmentBase - chunk.filePosition - chunk.writtenBytes >= WRITE_AHEAD_BYTES) this.writeAhead(chunk);
    if (!this.scheduled && !this.flushing) {
      this.scheduled = true;
      // A microtask, so appends made in the same tick join this group.
      queueMicrotask(() => {
        this.scheduled = false;
        void this.flushLoop();
      });
    }
  }

  /**
   * Starts writing what the open group holds so far, when its segment file is open (so the write starts now,
   * not after an await). The flush writes the rest and waits for all of it before its fdatasync.
   */
  private writeAhead(chunk: Chunk): void {
    const target = this.lastWritten;
    if (target === undefined || target.base !== chunk.segmentBase) return;
    this.sealActive();
    if (this.zeroWriteUnder(chunk)) return; // the flush waits for it, then writes
    const writing = this.writeParts(target, chunk);
    // Rejections are handled by the flush that awaits it; until then, this keeps them from being "unhandled".
    writing.catch(() => undefined);
  }

  /**
   * Writes (and in sync mode fdatasyncs) a small chunk that no write-ahead has started, on this thread. Returns
   * false when the chunk is too big or the file cannot do it, leaving it to the thread pool.
   */
  private writeInline(target: { file: StoreFile; path: string }, chunk: Chunk): boolean {
    if (chunk.writes.length > 0 || chunk.writtenParts > 0 || !target.file.writevNow) return false;
    const buffers: Buffer[] = [];
    let bytes = 0;
    for (const part of chunk.parts) {
      buffers.push(part.wb.buf.subarray(part.start, part.end));
      bytes += part.end - part.start;
    }
    if (bytes > INLINE_SYNC_MAX_BYTES) return false;
    try {
      target.file.writevNow(buffers, chunk.filePosition, this.sync);
    } catch (err) {
      throw new StorageIoError(this.sync ? 'write and fdatasync the commit log' : 'write to the commit log', target.path, err);
    }
    chunk.writtenParts = chunk.parts.length;
    chunk.writtenBytes = bytes;
    return true;
  }

  /** Writes the chunk's parts not yet being written. */
  private writeParts(target: { file: StoreFile; path: string }, chunk: Chunk): Promise<void> {
    const buffers: Buffer[] = [];
    let bytes = 0;
    for (let i = chunk.writtenParts; i < chunk.parts.length; i++) {
      const part = chunk.parts[i]!;
      buffers.push(part.wb.buf.subarray(part.start, part.end));
      bytes += part.end - part.start;
    }
    const position = chunk.filePosition + chunk.writtenBytes;
    chunk.writtenParts = chunk.parts.length;
    chunk.writtenBytes += bytes;
    const writing = attempt('write to the commit log', target.path, () => target.file.writev(buffers, position));
    chunk.writes.push(writing);
    return writing;
  }

  private async flushLoop(): Promise<void> {
    if (this.flushing || this.failure !== undefined) return;
    this.flushing = true;
    let group: FlushGroup | undefined;
    try {
      while (this.group.waiters.length > 0) {
        this.sealActive();
        group = this.group;
        this.group = this.newGroup(this.writePosition);
        this.inFlight = group;
        const first = group.chunks[0]!;
        const sealed = this.onSeal(first.segmentBase + first.filePosition);
        let work = sealed; // whileWriting not yet run
        for (const chunk of group.chunks) {
          if (this.failure !== undefined) break;
          if (chunk.parts.length === 0) {
            // A replica's copied SEGMENT_END ends a group: the segment is cut now, not at the next write.
            if (this.ended.length > 0) await this.cutEndedSegments(chunk.segmentBase + 1);
            continue;
          }
          const target = await this.fileFor(chunk.segmentBase);
          const zeroing = this.zeroWriteUnder(chunk);
          if (zeroing) await zeroing;
          if (group.chunks.length === 1 && this.writeInline(target, chunk)) continue;
          if (chunk.writtenParts < chunk.parts.length) this.writeParts(target, chunk);
          const writing = chunk.writes.length === 1 ? chunk.writes[0]! : Promise.all(chunk.writes);
          if (!this.sync) work = overlap(work, writing);
          await writing;
          if (this.sync) {
            const syncing = attempt('fdatasync the commit log', target.path, () => target.file.datasync());
            work = overlap(work, syncing);
            await syncing;
          }
        }
        if (this.failure === undefined) this.retainWritten(group);
        for (const chunk of group.chunks) for (const part of chunk.parts) this.release(part.wb);
        // The store failed meanwhile (e.g. a checkpoint): its callbacks were rejected; acknowledge nothing more.
        if (this.failure !== undefined) break;
        work?.whileWriting();
        this.lastGroupBytes = group.endOffset - this.durableOffset;
        this.durableOffset = group.endOffset;
        if (group.lastRecord !== undefined) this.lastDurableRecord = group.lastRecord;
        if (this.sync) this.syncedOffset = group.endOffset;
        const waiters = group.waiters;
        group = undefined;
        this.inFlight = undefined;
        sealed?.durable();
        this.onDurable();
        for (const waiter of waiters) waiter.durable();
        this.zeroAhead?.advance();
      }
    } catch (err) {
      this.inFlight = group;
      this.onFailure(err);
      this.fail(err);
    } finally {
      this.flushing = false;
      if (this.group.waiters.length === 0 || this.failure !== undefined) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
    }
  }

  private retainWritten(group: FlushGroup): void {
    for (const chunk of group.chunks) {
      let position = chunk.segmentBase + chunk.filePosition;
      for (const part of chunk.parts) {
        this.onWritten(position, part.wb.buf.subarray(part.start, part.end));
        position += part.end - part.start;
      }
    }
  }

  private release(wb: WriteBuffer): void {
    wb.refs--;
    if (wb === this.active) {
      // Nothing in flight and nothing pending: start the buffer over.
      if (wb.refs === 0 && this.activeGroupStart === this.activePosition) {
        this.activePosition = 0;
        this.activeGroupStart = 0;
      }
    } else this.retire(wb);
  }

  /**
   * In async mode, a write moving to a new segment first fdatasyncs the previous one. Segments ended before
   * `base` are cut to their data before anything is written at `base`, so no reader ever sees a sealed segment
   * whose file goes on past its data (readers find where a sealed segment's data ends at its file's end).
   */
  private async fileFor(base: number): Promise<{ file: StoreFile; path: string }> {
    if (this.lastWritten?.base === base) return this.lastWritten;
    const previous = this.lastWritten;
    if (previous && !this.sync) await attempt('fdatasync the commit log', previous.path, () => previous.file.datasync());
    await this.cutEndedSegments(base);
    const direct = this.directWrites?.wanted() ?? false;
    // Zero writes go through the page cache, which a file written directly must not see meanwhile (direct-file.ts).
    if (direct && this.zeroAhead?.segmentBase === base) await this.stopZeroAhead();
    const { file, path, refused } = await this.log.fileForWrite(base, direct);
    if (refused) this.directWrites?.refused(path, refused);
    this.lastWritten = { base, file, path };
    this.preallocate();
    return this.lastWritten;
  }

  private async cutEndedSegments(before: number): Promise<void> {
    while (this.ended.length > 0 && this.ended[0]!.base < before) {
      const { base, dataEnd } = this.ended.shift()!;
      if (this.zeroAhead?.segmentBase === base) {
        const zeroAhead = this.zeroAhead;
        this.zeroAhead = undefined;
        await zeroAhead.stop();
      }
      const index = this.log.segmentIndexFor(base);
      if (index >= 0 && this.log.segments[index]!.base === base) await this.log.cutFile(index, dataEnd);
    }
  }

  /** Starts zero-filling ahead of the write position in the active segment, if its file exists. */
  preallocate(): void {
    if (!this.zeroFill || this.failure !== undefined || this.zeroAhead) return;
    const segment = this.log.segments[this.log.segments.length - 1];
    if (!segment || segment.base !== this.segmentBase) return;
    // A file written directly (or about to be) must not take page-cache writes: see direct-file.ts.
    if (segment.file?.direct || this.directWrites?.wanted()) return;
    const { windowBytes, logger } = this.zeroFill;
    // Preallocation pays when an fdatasync carries few messages: groups as small as the inline path takes.
    const lightLoad = (): boolean => this.lastGroupBytes <= INLINE_SYNC_MAX_BYTES && this.writePosition - this.durableOffset <= INLINE_SYNC_MAX_BYTES;
    this.zeroAhead = new ZeroAhead(this.log, segment, this.segmentEnd, windowBytes, () => this.writePosition, lightLoad, logger);
    this.zeroAhead.advance();
  }

  /** A zero write in flight over the bytes of `chunk` not yet being written. */
  private zeroWriteUnder(chunk: Chunk): Promise<void> | undefined {
    const zeroAhead = this.zeroAhead;
    if (zeroAhead?.segmentBase !== chunk.segmentBase) return undefined;
    let end = chunk.segmentBase + chunk.filePosition + chunk.writtenBytes;
    const start = end;
    for (let i = chunk.writtenParts; i < chunk.parts.length; i++) end += chunk.parts[i]!.end - chunk.parts[i]!.start;
    return zeroAhead.inFlight(start, end);
  }

  /** Stops preallocating for good; resolves once no zero write is in flight (before a truncation or close). */
  async stopPreallocating(): Promise<void> {
    this.zeroFill = undefined;
    await this.stopZeroAhead();
  }

  private async stopZeroAhead(): Promise<void> {
    const zeroAhead = this.zeroAhead;
    this.zeroAhead = undefined;
    await zeroAhead?.stop();
  }

  /** fdatasyncs what is written (async mode's timer, checkpoints); returns the offset now synced. */
  async syncWritten(): Promise<number> {
    const target = this.durableOffset;
    const last = this.lastWritten;
    if (target > this.syncedOffset && last) {
      await attempt('fdatasync the commit log', last.path, () => last.file.datasync());
      this.syncedOffset = Math.max(this.syncedOffset, target);
    }
    return this.syncedOffset;
  }

  /** Resolves when nothing is waiting to be written (or the appender failed). */
  idle(): Promise<void> {
    if (!this.flushing && !this.scheduled && this.group.waiters.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops writing: every group not yet durable is rejected, now and for all later commits. */
  fail(err: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    void this.zeroAhead?.stop();
    const groups = this.inFlight ? [this.inFlight, this.group] : [this.group];
    this.inFlight = undefined;
    this.group = this.newGroup(this.writePosition);
    for (const g of groups) for (const waiter of g.waiters) waiter.failed(err);
  }
}
