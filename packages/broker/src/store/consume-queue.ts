import { join } from 'node:path';
import { RoomqError } from '@roomq/protocol';
import { attempt, offsetFileName, parseOffsetFileName } from './commit-log.js';
import { ThresholdWaiters } from './threshold-waiters.js';
import { CQ_ENTRY_SIZE, cqPhysicalOffset, cqSize, writeCqEntry } from './consume-queue-codec.js';
import type { FileIO, StoreFile } from './file-io.js';

const INITIAL_MEMORY_ENTRIES = 1024;
/** Entries already on disk kept in memory for tailing readers. */
const TAIL_KEEP_ENTRIES = 4096;

/**
 * One (topic, queueId): its entries, in queue-offset order. Invariants:
 * fileEnd <= visibleEnd <= assignedEnd; memory holds [memoryStart, assignedEnd) and memoryStart <= fileEnd,
 * so every entry is on disk, in memory, or both.
 */
export class ConsumeQueue {
  /** Readers see queue offsets [0, visibleEnd): durable per the flush mode. */
  visibleEnd = 0;
  /** The next queue offset to assign. */
  assignedEnd = 0;
  /** Entries [0, fileEnd) are written to files (not necessarily fsynced). */
  fileEnd = 0;
  /** Appended to in the store's open flush group; its visibility is settled when that group closes. */
  sealPending = false;
  private memory = Buffer.allocUnsafe(INITIAL_MEMORY_ENTRIES * CQ_ENTRY_SIZE);
  private memoryStart = 0;
  private readonly files = new Map<number, StoreFile>();
  private readonly dirtyFiles = new Set<StoreFile>();
  private readonly waiters = new ThresholdWaiters();
  private persisting: Promise<void> = Promise.resolve();

  constructor(
    private readonly io: FileIO,
    readonly topic: string,
    readonly queueId: number,
    readonly dir: string,
    private readonly entriesPerFile: number,
  ) {}

  /** Adds an entry at `assignedEnd` (not yet visible). */
  append(physicalOffset: number, size: number, tagHash: number): number {
    const index = this.assignedEnd - this.memoryStart;
    if ((index + 1) * CQ_ENTRY_SIZE > this.memory.length) this.makeRoom();
    writeCqEntry(this.memory, (this.assignedEnd - this.memoryStart) * CQ_ENTRY_SIZE, physicalOffset, size, tagHash);
    return this.assignedEnd++;
  }

  /** Replaces the memory buffer (never in place: a persist may be writing a view of the old one). */
  private makeRoom(): void {
    const keepFrom = Math.max(this.memoryStart, this.fileEnd - TAIL_KEEP_ENTRIES);
    const kept = this.assignedEnd - keepFrom;
    const next = Buffer.allocUnsafe(Math.max(INITIAL_MEMORY_ENTRIES, kept * 2) * CQ_ENTRY_SIZE);
    this.memory.copy(next, 0, (keepFrom - this.memoryStart) * CQ_ENTRY_SIZE, (this.assignedEnd - this.memoryStart) * CQ_ENTRY_SIZE);
    this.memory = next;
    this.memoryStart = keepFrom;
  }

  setVisibleEnd(end: number): void {
    this.visibleEnd = end;
    this.waiters.advance(end);
  }

  waitForData(afterOffset: number, signal: AbortSignal): Promise<void> {
    if (this.visibleEnd > afterOffset) return Promise.resolve();
    return this.waiters.wait(afterOffset, signal);
  }

  rejectWaiters(err: RoomqError): void {
    this.waiters.rejectAll(err);
  }

  /** `count` entries from `from`; the caller keeps the range inside [0, assignedEnd). */
  async readEntries(from: number, count: number): Promise<Buffer> {
    if (from >= this.memoryStart) {
      const at = (from - this.memoryStart) * CQ_ENTRY_SIZE;
      return this.memory.subarray(at, at + count * CQ_ENTRY_SIZE);
    }
    const out = Buffer.allocUnsafe(count * CQ_ENTRY_SIZE);
    let filled = 0;
    const fromDiskEnd = Math.min(from + count, this.memoryStart);
    let offset = from;
    while (offset < fromDiskEnd) {
      const first = offset - (offset % this.entriesPerFile);
      const n = Math.min(fromDiskEnd, first + this.entriesPerFile) - offset;
      const file = await this.fileFor(first, false);
      const path = join(this.dir, offsetFileName(first));
      const got = await attempt('read consume queue', path, () => file.read(out, filled * CQ_ENTRY_SIZE, n * CQ_ENTRY_SIZE, (offset - first) * CQ_ENTRY_SIZE));
      if (got !== n * CQ_ENTRY_SIZE) {
        throw new RoomqError('STORAGE_FAILED', `consume queue file ${path} is shorter than expected; restart the broker to rebuild it`, {
          details: { topic: this.topic, queueId: this.queueId, offset },
        });
      }
      filled += n;
      offset += n;
    }
    if (offset < from + count) {
      const at = (offset - this.memoryStart) * CQ_ENTRY_SIZE;
      this.memory.copy(out, filled * CQ_ENTRY_SIZE, at, at + (from + count - offset) * CQ_ENTRY_SIZE);
    }
    return out;
  }

  /** Writes visible entries not yet on disk to the files (no fsync; see datasync). */
  persist(): Promise<void> {
    this.persisting = this.persisting.then(() => this.persistNow());
    return this.persisting;
  }

  private async persistNow(): Promise<void> {
    const upTo = this.visibleEnd;
    while (this.fileEnd < upTo) {
      const first = this.fileEnd - (this.fileEnd % this.entriesPerFile);
      const end = Math.min(upTo, first + this.entriesPerFile);
      const file = await this.fileFor(first, true);
      const from = (this.fileEnd - this.memoryStart) * CQ_ENTRY_SIZE;
      const bytes = this.memory.subarray(from, from + (end - this.fileEnd) * CQ_ENTRY_SIZE);
      const path = join(this.dir, offsetFileName(first));
      await attempt('write consume queue', path, () => file.writev([bytes], (this.fileEnd - first) * CQ_ENTRY_SIZE));
      this.dirtyFiles.add(file);
      this.fileEnd = end;
    }
  }

  async datasync(): Promise<void> {
    await this.persisting;
    for (const file of this.dirtyFiles) await attempt('sync consume queue', file.path, () => file.datasync());
    this.dirtyFiles.clear();
  }

  private async fileFor(first: number, create: boolean): Promise<StoreFile> {
    let file = this.files.get(first);
    if (!file) {
      const path = join(this.dir, offsetFileName(first));
      if (create) await attempt('create consume queue directory', this.dir, () => this.io.mkdir(this.dir));
      const exists = (await this.io.stat(path)) !== undefined;
      file = await attempt('open consume queue', path, () => this.io.open(path, exists ? 'r+' : 'w+'));
      this.files.set(first, file);
    }
    return file;
  }

  /**
   * Loads the on-disk entries, keeping at most `limit` (entries past the checkpoint may describe records a
   * crash took back). Returns how many entries are complete on disk.
   */
  async load(limit: number): Promise<number> {
    const names = await this.io.readdir(this.dir);
    const firsts = names.map(parseOffsetFileName).filter((f): f is number => f !== undefined).sort((a, b) => a - b);
    let complete = 0;
    let broken = false;
    for (const first of firsts) {
      const path = join(this.dir, offsetFileName(first));
      if (broken || first !== complete || complete >= limit) {
        await this.closeFile(first);
        await attempt('delete consume queue file', path, () => this.io.unlink(path));
        continue;
      }
      const size = (await this.io.stat(path))?.size ?? 0;
      const entries = Math.min(Math.floor(size / CQ_ENTRY_SIZE), this.entriesPerFile, limit - first);
      if (entries * CQ_ENTRY_SIZE !== size) await attempt('truncate consume queue', path, () => this.io.truncate(path, entries * CQ_ENTRY_SIZE));
      complete = first + entries;
      if (entries < this.entriesPerFile) broken = true;
    }
    this.fileEnd = complete;
    this.visibleEnd = complete;
    this.assignedEnd = complete;
    this.memoryStart = complete;
    return complete;
  }

  /** Number of entries whose record starts before log offset `position` (entries are in log order). */
  async countBefore(position: number): Promise<number> {
    if (this.assignedEnd === 0 || cqPhysicalOffset(await this.readEntries(this.assignedEnd - 1, 1), 0) < position) return this.assignedEnd;
    let lo = 0;
    let hi = this.assignedEnd - 1; // the first entry at or past `position` is in [lo, hi]
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cqPhysicalOffset(await this.readEntries(mid, 1), 0) < position) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Drops entries [count, assignedEnd) from memory and files (a log truncation). The caller stops appends and
   * persists while it runs.
   */
  async truncateEntries(count: number): Promise<void> {
    await this.persisting;
    if (count >= this.assignedEnd) return;
    this.assignedEnd = count;
    if (this.visibleEnd > count) this.visibleEnd = count;
    if (this.fileEnd > count) {
      for (const first of [...this.files.keys()]) {
        if (first >= count) {
          const file = this.files.get(first)!;
          this.dirtyFiles.delete(file);
          await this.closeFile(first);
        }
      }
      for (const name of await this.io.readdir(this.dir)) {
        const first = parseOffsetFileName(name);
        if (first === undefined || first < count) continue;
        const path = join(this.dir, name);
        await attempt('delete consume queue file', path, () => this.io.unlink(path));
      }
      const first = count - (count % this.entriesPerFile);
      if (first < count) {
        const file = await this.fileFor(first, false);
        await attempt('truncate consume queue', file.path, () => file.truncate((count - first) * CQ_ENTRY_SIZE));
        this.dirtyFiles.add(file);
      }
      this.fileEnd = count;
    }
    // Entries before memoryStart are on disk, so a start past the cut only has to move back; nothing is lost.
    if (this.memoryStart > count) {
      this.memory = Buffer.allocUnsafe(INITIAL_MEMORY_ENTRIES * CQ_ENTRY_SIZE);
      this.memoryStart = count;
    }
  }

  /** Where in the log the record after the last loaded entry can start (0 when there is none). */
  async resumePosition(): Promise<number> {
    if (this.fileEnd === 0) return 0;
    const entry = await this.readEntries(this.fileEnd - 1, 1);
    return cqPhysicalOffset(entry, 0) + cqSize(entry, 0);
  }

  private async closeFile(first: number): Promise<void> {
    const file = this.files.get(first);
    this.files.delete(first);
    if (file) await file.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    for (const first of [...this.files.keys()]) await this.closeFile(first);
  }
}

