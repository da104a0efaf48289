import { join } from 'node:path';
import { attempt, offsetFileName, parseOffsetFileName } from './commit-log.js';
import type { FileIO, StoreFile } from './file-io.js';
import { INDEX_ENTRY_SIZE, indexHashOfEntry, readIndexEntry, writeIndexEntry } from './index-codec.js';

const INITIAL_MEMORY_ENTRIES = 4096;
const LOAD_CHUNK_ENTRIES = 64 * 1024;

/** One index file: entries [firstEntry, firstEntry + count); the slot table lives in memory. */
class IndexFile {
  readonly slots: Uint32Array;
  /** Entries in this file, on disk or in memory. */
  count = 0;
  /** Entries [0, fileCount) are written to the file. */
  fileCount = 0;
  /** Unwritten entries [fileCount, count), at memory[(i - memoryStart) * 20]. */
  memory = Buffer.allocUnsafe(INITIAL_MEMORY_ENTRIES * INDEX_ENTRY_SIZE);
  memoryStart = 0;
  file: StoreFile | undefined;
  dirty = false;

  constructor(
    readonly firstEntry: number,
    readonly path: string,
    slotCount: number,
  ) {
    this.slots = new Uint32Array(slotCount);
  }

  add(hash: number, physicalOffset: number, size: number): void {
    const slot = hash % this.slots.length;
    if ((this.count - this.memoryStart + 1) * INDEX_ENTRY_SIZE > this.memory.length) {
      // Never in place: a persist may be writing a view of the old buffer.
      const kept = this.count - this.fileCount;
      const next = Buffer.allocUnsafe(Math.max(INITIAL_MEMORY_ENTRIES, kept * 2) * INDEX_ENTRY_SIZE);
      this.memory.copy(next, 0, (this.fileCount - this.memoryStart) * INDEX_ENTRY_SIZE, (this.count - this.memoryStart) * INDEX_ENTRY_SIZE);
      this.memory = next;
      this.memoryStart = this.fileCount;
    }
    writeIndexEntry(this.memory, (this.count - this.memoryStart) * INDEX_ENTRY_SIZE, hash, physicalOffset, size, this.slots[slot]!);
    this.count++;
    this.slots[slot] = this.count;
  }
}

export interface IndexCandidate {
  physicalOffset: number;
  size: number;
}

/**
 * Message-ID and key index: hash slots in memory, chained entries on disk. Entries are added at append time
 * and only become visible to lookups (and are only written) once their record is durable.
 */
export class MessageIndex {
  private readonly files: IndexFile[] = [];
  /** The last of `files`, which add() appends to. */
  private current: IndexFile | undefined;
  /** Total entries over all files. */
  total = 0;
  /** Entries [0, visibleTotal) point at durable records. */
  visibleTotal = 0;
  private persisting: Promise<void> = Promise.resolve();

  constructor(
    private readonly io: FileIO,
    private readonly dir: string,
    private readonly slotCount: number,
    private readonly entriesPerFile: number,
  ) {}

  add(hash: number, physicalOffset: number, size: number): void {
    let file = this.current;
    if (file === undefined || file.count >= this.entriesPerFile) {
      file = new IndexFile(this.total, join(this.dir, offsetFileName(this.total)), this.slotCount);
      file.memoryStart = 0;
      this.files.push(file);
      this.current = file;
    }
    file.add(hash, physicalOffset, size);
    this.total++;
  }

  /** Candidates for `hash`, newest first; the caller verifies each against its record. */
  async *candidates(hash: number): AsyncGenerator<IndexCandidate> {
    for (let f = this.files.length - 1; f >= 0; f--) {
      const file = this.files[f]!;
      let next = file.slots[hash % this.slotCount]!;
      while (next !== 0) {
        const local = next - 1;
        const entryBuf = await this.readEntry(file, local);
        const entry = readIndexEntry(entryBuf, 0);
        if (file.firstEntry + local < this.visibleTotal && indexHashOfEntry(entryBuf, 0) === hash) {
          yield { physicalOffset: entry.physicalOffset, size: entry.size };
        }
        next = entry.previous;
      }
    }
  }

  private async readEntry(file: IndexFile, local: number): Promise<Buffer> {
    if (local >= file.memoryStart && local < file.count) {
      const at = (local - file.memoryStart) * INDEX_ENTRY_SIZE;
      return file.memory.subarray(at, at + INDEX_ENTRY_SIZE);
    }
    const out = Buffer.allocUnsafe(INDEX_ENTRY_SIZE);
    const handle = await this.fileOf(file);
    await attempt('read index', file.path, () => handle.read(out, 0, INDEX_ENTRY_SIZE, local * INDEX_ENTRY_SIZE));
    return out;
  }

  private async fileOf(file: IndexFile): Promise<StoreFile> {
    if (!file.file) {
      await attempt('create index directory', this.dir, () => this.io.mkdir(this.dir));
      const exists = (await this.io.stat(file.path)) !== undefined;
      file.file = await attempt('open index', file.path, () => this.io.open(file.path, exists ? 'r+' : 'w+'));
    }
    return file.file;
  }

  /** Number of entries whose record starts before log offset `position` (entries are in log order). */
  async countBefore(position: number): Promise<number> {
    const offsetAt = async (entry: number): Promise<number> => {
      const file = this.fileHolding(entry);
      return readIndexEntry(await this.readEntry(file, entry - file.firstEntry), 0).physicalOffset;
    };
    if (this.total === 0 || (await offsetAt(this.total - 1)) < position) return this.total;
    let lo = 0;
    let hi = this.total - 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if ((await offsetAt(mid)) < position) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private fileHolding(entry: number): IndexFile {
    for (let f = this.files.length - 1; f >= 0; f--) if (this.files[f]!.firstEntry <= entry) return this.files[f]!;
    throw new Error(`index entry ${entry} is in no file`);
  }

  /**
   * Drops entries [total, this.total) from memory and files and rebuilds the slots of the file cut into (a log
   * truncation). The caller stops adds and persists while it runs.
   */
  async truncateEntries(total: number): Promise<void> {
    await this.persisting;
    if (total >= this.total) return;
    while (this.files.length > 0 && this.files[this.files.length - 1]!.firstEntry >= total) {
      const file = this.files.pop()!;
      const handle = file.file;
      file.file = undefined;
      if (handle) await handle.close().catch(() => undefined);
      if ((await this.io.stat(file.path)) !== undefined) await attempt('delete index file', file.path, () => this.io.unlink(file.path));
    }
    const file = this.files[this.files.length - 1];
    if (file && file.count > total - file.firstEntry) {
      const local = total - file.firstEntry;
      if (file.fileCount > local) {
        const handle = await this.fileOf(file);
        await attempt('truncate index file', file.path, () => handle.truncate(local * INDEX_ENTRY_SIZE));
        file.fileCount = local;
        file.dirty = true;
      }
      file.count = local;
      if (file.memoryStart > local) file.memoryStart = local;
      // Chains only point backwards, so kept entries stay valid; slot heads are recomputed from them.
      file.slots.fill(0);
      const chunk = Buffer.allocUnsafe(LOAD_CHUNK_ENTRIES * INDEX_ENTRY_SIZE);
      for (let done = 0; done < file.fileCount; ) {
        const n = Math.min(LOAD_CHUNK_ENTRIES, file.fileCount - done);
        const handle = await this.fileOf(file);
        await attempt('read index', file.path, () => handle.read(chunk, 0, n * INDEX_ENTRY_SIZE, done * INDEX_ENTRY_SIZE));
        for (let i = 0; i < n; i++) file.slots[indexHashOfEntry(chunk, i * INDEX_ENTRY_SIZE) % this.slotCount] = done + i + 1;
        done += n;
      }
      for (let i = file.fileCount; i < local; i++) {
        file.slots[indexHashOfEntry(file.memory, (i - file.memoryStart) * INDEX_ENTRY_SIZE) % this.slotCount] = i + 1;
      }
    }
    this.current = this.files[this.files.length - 1];
    this.total = total;
    if (this.visibleTotal > total) this.visibleTotal = total;
  }

  /** Writes entries of durable records to the files (no fsync; see datasync). */
  persist(): Promise<void> {
    this.persisting = this.persisting.then(() => this.persistNow());
    return this.persisting;
  }

  private async persistNow(): Promise<void> {
    const upTo = this.visibleTotal;
    for (const file of this.files) {
      const end = Math.min(file.count, upTo - file.firstEntry);
      if (end <= file.fileCount) continue;
      const handle = await this.fileOf(file);
      const from = (file.fileCount - file.memoryStart) * INDEX_ENTRY_SIZE;
      const bytes = file.memory.subarray(from, from + (end - file.fileCount) * INDEX_ENTRY_SIZE);
      await attempt('write index', file.path, () => handle.writev([bytes], file.fileCount * INDEX_ENTRY_SIZE));
      file.fileCount = end;
      file.dirty = true;
    }
  }

  async datasync(): Promise<void> {
    await this.persisting;
    for (const file of this.files) {
      if (!file.dirty || !file.file) continue;
      const handle = file.file;
      await attempt('sync index', file.path, () => handle.datasync());
      file.dirty = false;
    }
  }

  /**
   * Loads index files holding exactly `expected` entries in total. Returns false (after deleting them all)
   * when the files hold fewer: the index must then be rebuilt from the start of the log.
   */
  async load(expected: number): Promise<boolean> {
    await attempt('create index directory', this.dir, () => this.io.mkdir(this.dir));
    const firsts = (await this.io.readdir(this.dir)).map(parseOffsetFileName).filter((f): f is number => f !== undefined).sort((a, b) => a - b);
    let complete = 0;
    const keep: Array<{ first: number; entries: number }> = [];
    for (const first of firsts) {
      if (first !== complete || complete >= expected) break;
      const size = (await this.io.stat(join(this.dir, offsetFileName(first))))?.size ?? 0;
      const entries = Math.min(Math.floor(size / INDEX_ENTRY_SIZE), this.entriesPerFile, expected - first);
      keep.push({ first, entries });
      complete = first + entries;
      if (entries < this.entriesPerFile) break;
    }
    const usable = complete === expected;
    for (const first of firsts) {
      const kept = usable ? keep.find((k) => k.first === first) : undefined;
      const path = join(this.dir, offsetFileName(first));
      if (!kept) await attempt('delete index file', path, () => this.io.unlink(path));
      else if (kept.entries * INDEX_ENTRY_SIZE !== (await this.io.stat(path))?.size) {
        await attempt('truncate index file', path, () => this.io.truncate(path, kept.entries * INDEX_ENTRY_SIZE));
      }
    }
    if (!usable) return false;
    for (const { first, entries } of keep) {
      const file = new IndexFile(first, join(this.dir, offsetFileName(first)), this.slotCount);
      const handle = await this.fileOf(file);
      const chunk = Buffer.allocUnsafe(LOAD_CHUNK_ENTRIES * INDEX_ENTRY_SIZE);
      for (let done = 0; done < entries; ) {
        const n = Math.min(LOAD_CHUNK_ENTRIES, entries - done);
        await attempt('read index', file.path, () => handle.read(chunk, 0, n * INDEX_ENTRY_SIZE, done * INDEX_ENTRY_SIZE));
        for (let i = 0; i < n; i++) file.slots[indexHashOfEntry(chunk, i * INDEX_ENTRY_SIZE) % this.slotCount] = done + i + 1;
        done += n;
      }
      file.count = entries;
      file.fileCount = entries;
      file.memoryStart = entries;
      this.files.push(file);
      this.current = file;
    }
    this.total = expected;
    this.visibleTotal = expected;
    return true;
  }

  async close(): Promise<void> {
    for (const file of this.files) {
      const handle = file.file;
      file.file = undefined;
      if (handle) await handle.close().catch(() => undefined);
    }
  }
}
