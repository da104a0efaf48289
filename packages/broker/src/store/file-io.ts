import * as fs from 'node:fs/promises';
import { fdatasyncSync, writevSync } from 'node:fs';
import { DirectStoreFile } from './direct-file.js';

/** An open file. Positions are byte offsets in the file; every call is positional (no shared cursor). */
export interface StoreFile {
  readonly path: string;
  /**
   * True for a file whose writes bypass the page cache (direct-file.ts). Nothing may write it through the page
   * cache meanwhile (no preallocation), or the kernel could keep a stale page over what it wrote.
   */
  readonly direct?: boolean;
  /** Reads up to `length` bytes into `buf[offset..]`; returns how many were read (fewer at end of file). */
  read(buf: Buffer, offset: number, length: number, position: number): Promise<number>;
  /** Writes all of `buffers` at `position`. */
  writev(buffers: Buffer[], position: number): Promise<void>;
  datasync(): Promise<void>;
  /**
   * Writes all of `buffers` at `position`, and fdatasyncs when `sync`, on the calling thread (it blocks the
   * event loop for one disk flush, or one copy into the page cache). Only for small groups, where it saves the
   * thread-pool round trips of writev() (plus datasync()). Optional: files that inject faults in tests leave it
   * out, so their writes take the async path.
   */
  writevNow?(buffers: Buffer[], position: number, sync: boolean): void;
  /**
   * Writes `length` zero bytes at `position` (no fdatasync). For preallocating commit-log space ahead of the
   * writer (zero-ahead.ts). Optional: files that inject faults in tests leave it out unless the test is about
   * preallocation, and a file without it is simply not preallocated.
   */
  writeZeros?(position: number, length: number): Promise<void>;
  truncate(length: number): Promise<void>;
  size(): Promise<number>;
  close(): Promise<void>;
}

/**
 * All file access of the store goes through this, so tests can inject disk failures and the storage logic
 * never touches node:fs directly.
 */
export interface FileIO {
  /** `r`: read only; `r+`: read/write, must exist; `w+`: read/write, created or truncated. */
  open(path: string, flags: 'r' | 'r+' | 'w+'): Promise<StoreFile>;
  mkdir(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** Names in a directory; empty when it does not exist. */
  readdir(path: string): Promise<string[]>;
  /** Size and kind, or undefined when the path does not exist. */
  stat(path: string): Promise<{ size: number; isDirectory: boolean } | undefined>;
  unlink(path: string): Promise<void>;
  truncate(path: string, length: number): Promise<void>;
  /**
   * `file` (opened by this FileIO) with its writes made direct, reading as before; or why that cannot be (no
   * O_DIRECT on this file system). Optional: files that inject faults in tests leave it out and stay buffered.
   */
  directWrites?(file: StoreFile): Promise<{ file: StoreFile } | { error: Error }>;
}

class NodeStoreFile implements StoreFile {
  constructor(
    readonly path: string,
    private readonly handle: fs.FileHandle,
  ) {}

  async read(buf: Buffer, offset: number, length: number, position: number): Promise<number> {
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(buf, offset + done, length - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done;
  }

  async writev(buffers: Buffer[], position: number): Promise<void> {
    let pending = buffers;
    let at = position;
    while (pending.length > 0) {
      const { bytesWritten } = await this.handle.writev(pending, at);
      at += bytesWritten;
      pending = unwritten(pending, bytesWritten);
    }
  }

  datasync(): Promise<void> {
    return this.handle.datasync();
  }

  writevNow(buffers: Buffer[], position: number, sync: boolean): void {
    let pending = buffers;
    let at = position;
    while (pending.length > 0) {
      const written = writevSync(this.handle.fd, pending, at);
      at += written;
      pending = unwritten(pending, written);
    }
    if (sync) fdatasyncSync(this.handle.fd);
  }

  writeZeros(position: number, length: number): Promise<void> {
    const zeros = zeroBuffer(length);
    const buffers: Buffer[] = [];
    for (let left = length; left > 0; left -= zeros.length) buffers.push(left >= zeros.length ? zeros : zeros.subarray(0, left));
    return this.writev(buffers, position);
  }

  truncate(length: number): Promise<void> {
    return this.handle.truncate(length);
  }

  async size(): Promise<number> {
    return (await this.handle.stat()).size;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** The real file system, through node:fs/promises (the libuv pool, so the event loop keeps running). */
export const nodeFileIO: FileIO = {
  async open(path, flags) {
    return new NodeStoreFile(path, await fs.open(path, flags));
  },
  async mkdir(path) {
    await fs.mkdir(path, { recursive: true });
  },
  rename: (from, to) => fs.rename(from, to),
  async readdir(path) {
    try {
      return await fs.readdir(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  },
  async stat(path) {
    try {
      const s = await fs.stat(path);
      return { size: s.size, isDirectory: s.isDirectory() };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  },
  unlink: (path) => fs.unlink(path),
  truncate: (path, length) => fs.truncate(path, length),
  async directWrites(file) {
    if (!(file instanceof NodeStoreFile)) return { error: new Error(`${file.path} was not opened by this FileIO`) };
    return DirectStoreFile.open(file);
  },
};

/** Makes a directory entry (a new or renamed file) durable. */
export async function syncDirectory(io: FileIO, dir: string): Promise<void> {
  const handle = await io.open(dir, 'r');
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** Zeros only ever read, shared by every file's writeZeros. */
let zeros: Buffer | undefined;
const MAX_ZERO_BUFFER_BYTES = 4 * 1024 * 1024;

function zeroBuffer(length: number): Buffer {
  if (!zeros || (zeros.length < length && zeros.length < MAX_ZERO_BUFFER_BYTES)) zeros = Buffer.alloc(Math.min(length, MAX_ZERO_BUFFER_BYTES));
  return zeros;
}

/** What is left of `buffers` after a (possibly short) write of `written` bytes. */
function unwritten(buffers: Buffer[], written: number): Buffer[] {
  let skip = written;
  const rest: Buffer[] = [];
  for (const b of buffers) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    rest.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return rest;
}
