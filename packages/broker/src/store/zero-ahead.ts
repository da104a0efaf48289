import type { Logger } from 'pino';
import type { CommitLog, Segment } from './commit-log.js';
import type { StoreFile } from './file-io.js';

/** Bytes zeroed by one write; each write is followed by one fdatasync. */
export const ZERO_CHUNK_BYTES = 1024 * 1024;
/**
 * Zeroing starts at least this far past the appender's reserved end. The writer would have to reserve this much
 * while one chunk is being written to reach it, so a data write practically never waits for a zero write; the
 * price is that the first bytes of each segment are written without preallocation.
 */
export const ZERO_LEAD_BYTES = 1024 * 1024;

interface ZeroWrite {
  start: number;
  end: number;
  /** Resolves (never rejects) once the write has returned. */
  settled: Promise<void>;
}

/**
 * Keeps the active segment's file zero-filled and fdatasynced up to `windowBytes` past the appender's reserved
 * end, one chunk at a time, so that a sync-mode fdatasync overwrites blocks the file already has instead of also
 * committing its growth through the journal.
 *
 * Invariants: a zero write covers only bytes beyond the reserved end at the moment it is issued (reservations
 * only grow, so no data write issued earlier can overlap it), and the write in flight is registered in the same
 * synchronous step that issues it; the appender asks `inFlight` before each data write and waits when it
 * overlaps (both go through the thread pool, which keeps no order). The file never grows past the segment end.
 *
 * Zero-filling is an optimisation and never fails the store: its writes and fdatasyncs go through a descriptor
 * of their own, so a real disk error still reaches the write path's fdatasync. After a failure (a full disk,
 * say) the segment is appended to without preallocation.
 *
 * Zeroing pauses under load (`lightLoad`, asked before each chunk): big groups spread each fdatasync over many
 * messages, so the journal commit it saves is noise there, while zeroing would double the bytes the disk writes.
 */
export class ZeroAhead {
  /**
   * How far zeroing has got (global offset; the file ends here, or before it at the start). The next chunk
   * starts here, or a lead past the writer when the writer has come within the lead of it.
   */
  private zeroedTo = 0;
  private file: StoreFile | undefined;
  private writing: ZeroWrite | undefined;
  private filling: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly log: CommitLog,
    private readonly segment: Segment,
    /** Where the segment ends (global offset): nothing is zeroed past it. */
    private readonly segmentEnd: number,
    private readonly windowBytes: number,
    /** The appender's reserved end: every byte below it is, or will be, data. */
    private readonly reservedEnd: () => number,
    private readonly lightLoad: () => boolean,
    private readonly logger: Logger,
  ) {}

  get segmentBase(): number {
    return this.segment.base;
  }

  /** Tops the window up in the background, when it has room for a chunk and no fill is running. */
  advance(): void {
    if (this.filling || this.stopped || (this.file && this.nextChunk() === undefined)) return;
    this.filling = this.fill().finally(() => (this.filling = undefined));
  }

  /** The zero write in flight over [start, end), to wait for before writing data there. */
  inFlight(start: number, end: number): Promise<void> | undefined {
    const w = this.writing;
    return w && w.start < end && start < w.end ? w.settled : undefined;
  }

  /** No zero write starts after this; resolves once none is in flight and the descriptor is closed. */
  stop(): Promise<void> {
    this.stopped = true;
    this.stopping ??= (async () => {
      await this.filling;
      await this.file?.close().catch(() => undefined);
    })();
    return this.stopping;
  }

  /** The next chunk to zero, or undefined while the window holds less than a whole one or the load is heavy. */
  private nextChunk(): { start: number; end: number } | undefined {
    if (!this.lightLoad()) return undefined;
    const reserved = this.reservedEnd();
    const target = Math.min(reserved + this.windowBytes, this.segmentEnd);
    const start = Math.max(this.zeroedTo, reserved + ZERO_LEAD_BYTES);
    const end = Math.min(start + ZERO_CHUNK_BYTES, this.segmentEnd);
    return start < end && end <= target ? { start, end } : undefined;
  }

  private async fill(): Promise<void> {
    const base = this.segment.base;
    try {
      if (!this.file) {
        this.file = await this.log.openZeroFillHandle(this.segment);
        if (!this.file.writeZeros) {
          this.stopped = true;
          return;
        }
        // Past the log end the file holds only zeros: recovery and truncation cut anything else.
        this.zeroedTo = base + (await this.file.size());
      }
      const file = this.file as Required<StoreFile>;
      for (let chunk = this.nextChunk(); chunk && !this.stopped; chunk = this.nextChunk()) {
        const written = file.writeZeros(chunk.start - base, chunk.end - chunk.start);
        this.writing = { ...chunk, settled: written.then(noop, noop) };
        try {
          await written;
        } finally {
          this.writing = undefined;
        }
        await file.datasync();
        this.zeroedTo = chunk.end;
      }
    } catch (err) {
      if (!this.stopped) {
        this.logger.warn({ err, segment: this.segment.path, zeroedTo: this.zeroedTo }, 'could not zero-fill ahead of the commit log; appending to this segment without preallocation');
      }
      this.stopped = true;
    }
  }
}

function noop(): void {}
