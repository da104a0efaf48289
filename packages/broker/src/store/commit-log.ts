import { join } from 'node:path';
import { DIRECT_BLOCK_BYTES } from './direct-file.js';
import { syncDirectory, type FileIO, type StoreFile } from './file-io.js';

/** A commit-log segment file: `<dataDir>/commitlog/<20-digit base offset>`. */
export interface Segment {
  readonly base: number;
  readonly path: string;
  file: StoreFile | undefined;
}

export const SEGMENT_NAME_DIGITS = 20;

export function offsetFileName(offset: number): string {
  return String(offset).padStart(SEGMENT_NAME_DIGITS, '0');
}

export function parseOffsetFileName(name: string): number | undefined {
  return /^\d{20}$/.test(name) ? Number(name) : undefined;
}

/** A failed file operation, with what the store was doing and on which path. */
export class StorageIoError extends Error {
  constructor(
    readonly what: string,
    readonly path: string,
    override readonly cause: unknown,
  ) {
    super(`${what} (${path}): ${(cause as NodeJS.ErrnoException)?.code ?? String(cause)}`);
  }
  get errno(): string {
    return (this.cause as NodeJS.ErrnoException)?.code ?? 'unknown error';
  }
}

export async function attempt<T>(what: string, path: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw err instanceof StorageIoError ? err : new StorageIoError(what, path, err);
  }
}

/**
 * The segment files of the log and positional access to them. Physical offsets are global byte positions;
 * segment N covers [base_N, base_N+1). Invariant: segments are sorted by base and never overlap.
 */
export class CommitLog {
  readonly segments: Segment[] = [];

  private constructor(
    private readonly io: FileIO,
    readonly dir: string,
    readonly segmentSizeBytes: number,
  ) {}

  static async open(io: FileIO, dir: string, segmentSizeBytes: number): Promise<CommitLog> {
    await attempt('create the commit-log directory', dir, () => io.mkdir(dir));
    const log = new CommitLog(io, dir, segmentSizeBytes);
    const bases = (await io.readdir(dir)).map(parseOffsetFileName).filter((b): b is number => b !== undefined);
    bases.sort((a, b) => a - b);
    for (const base of bases) log.segments.push({ base, path: join(dir, offsetFileName(base)), file: undefined });
    return log;
  }

  /** Index of the segment holding `position`, or -1 when it is before the first segment. */
  segmentIndexFor(position: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.segments[mid]!.base <= position) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** Where segment `index` ends: the next segment's base, or base + segmentSizeBytes for the last. */
  segmentEnd(index: number, fileSize = 0): number {
    const next = this.segments[index + 1];
    const segment = this.segments[index]!;
    return next ? next.base : segment.base + Math.max(this.segmentSizeBytes, fileSize);
  }

  async fileOf(segment: Segment): Promise<StoreFile> {
    if (!segment.file) {
      segment.file = await attempt('open segment', segment.path, () => this.io.open(segment.path, 'r+'));
    }
    return segment.file;
  }

  async fileSize(segment: Segment): Promise<number> {
    const file = await this.fileOf(segment);
    return attempt('stat segment', segment.path, () => file.size());
  }

  /**
   * The file to write at `base`, creating the segment (and making its directory entry durable) if new. With
   * `direct`, its writes bypass the page cache where the file system allows it (direct-file.ts); `refused` then
   * says why they do not.
   */
  async fileForWrite(base: number, direct = false): Promise<{ file: StoreFile; path: string; refused?: Error }> {
    const last = this.segments[this.segments.length - 1];
    if (last && last.base > base) throw new Error(`write at ${base} is behind the last segment ${last.base}`);
    let segment = last;
    if (!segment || segment.base !== base) {
      const path = join(this.dir, offsetFileName(base));
      // 'w+' (not 'wx+'): a file left at this name by a cut tail holds nothing we keep.
      const file = await attempt('create segment', path, () => this.io.open(path, 'w+'));
      segment = { base, path, file };
      this.segments.push(segment);
      await attempt('sync the commit-log directory', this.dir, () => syncDirectory(this.io, this.dir));
    }
    const file = await this.fileOf(segment);
    if (!direct || file.direct || !this.io.directWrites) return { file, path: segment.path };
    if (this.segmentSizeBytes % DIRECT_BLOCK_BYTES !== 0) {
      // Direct writes end on a whole block; the last block of such a segment would run past its end.
      return { file, path: segment.path, refused: new Error(`segmentSizeBytes ${this.segmentSizeBytes} is not a multiple of ${DIRECT_BLOCK_BYTES}`) };
    }
    const opened = await this.io.directWrites(file);
    if ('error' in opened) return { file, path: segment.path, refused: opened.error };
    segment.file = opened.file;
    return { file: opened.file, path: segment.path };
  }

  /** Reads up to `length` bytes at `position` within one segment; shorter at the end of the segment's data. */
  async read(position: number, length: number, into?: Buffer): Promise<Buffer> {
    const index = this.segmentIndexFor(position);
    const target = into ?? Buffer.allocUnsafe(length);
    if (index < 0) return target.subarray(0, 0);
    const segment = this.segments[index]!;
    const file = await this.fileOf(segment);
    const n = await attempt('read segment', segment.path, () => file.read(target, 0, length, position - segment.base));
    return target.subarray(0, n);
  }

  /**
   * Cuts the log back to `position`: truncates its segment (never extends it) and deletes every later one. The
   * cut is durable when this resolves: deleted segments cannot come back after a crash.
   */
  async truncate(position: number): Promise<void> {
    const index = this.segmentIndexFor(position);
    let deleted = false;
    for (let i = this.segments.length - 1; i > index; i--) {
      const segment = this.segments[i]!;
      await this.closeSegment(segment);
      await attempt('delete segment', segment.path, () => this.io.unlink(segment.path));
      this.segments.pop();
      deleted = true;
    }
    if (index >= 0) await this.cutFile(index, position);
    if (deleted) await attempt('sync the commit-log directory', this.dir, () => syncDirectory(this.io, this.dir));
  }

  /**
   * Cuts segment `index`'s file to end at `position` when it is longer (never extends it), durably. Returns
   * whether it cut anything.
   */
  async cutFile(index: number, position: number): Promise<boolean> {
    const segment = this.segments[index]!;
    const file = await this.fileOf(segment);
    const size = await attempt('stat segment', segment.path, () => file.size());
    if (position - segment.base >= size) return false;
    await attempt('truncate segment', segment.path, () => file.truncate(position - segment.base));
    await attempt('sync segment', segment.path, () => file.datasync());
    return true;
  }

  /**
   * A second descriptor on a segment, for zero-filling ahead of the writer (zero-ahead.ts). Linux reports a
   * writeback error to every descriptor open on the file, so an fdatasync on this one can never take an error
   * that the write path's own fdatasync must see. The caller closes it.
   */
  openZeroFillHandle(segment: Segment): Promise<StoreFile> {
    return attempt('open segment', segment.path, () => this.io.open(segment.path, 'r+'));
  }

  private async closeSegment(segment: Segment): Promise<void> {
    const file = segment.file;
    segment.file = undefined;
    if (file) await file.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    for (const segment of this.segments) await this.closeSegment(segment);
  }
}
