import { constants } from 'node:fs';
import * as fs from 'node:fs/promises';
import type { StoreFile } from './file-io.js';

/**
 * What a direct write is aligned to: its file offset, its length and its memory. 4 KiB is the page size and the
 * largest logical block size of the disks we run on (512 bytes here), so it satisfies every one of them.
 */
export const DIRECT_BLOCK_BYTES = 4096;
/** Most bytes one direct write call moves; a longer write goes out in pieces of this size, in order. */
const STAGE_BYTES = 2 * 1024 * 1024;
/** Staging buffers kept for reuse once their write is done; a replica writes one segment file at a time. */
const MAX_FREE_STAGES = 2;
const WASM_PAGE_BYTES = 64 * 1024;

const freeStages: Buffer[] = [];

/** The one part of WebAssembly used here; the project's TypeScript libraries (no DOM) do not declare it. */
declare const WebAssembly: { Memory: new (descriptor: { initial: number }) => { buffer: ArrayBuffer } };

/**
 * Memory that starts on a page boundary, which O_DIRECT requires and Node cannot ask malloc for: a WebAssembly
 * memory's bytes are mapped by V8 from whole pages, so its buffer starts on one.
 */
function alignedBuffer(bytes: number): Buffer {
  const memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / WASM_PAGE_BYTES) });
  return Buffer.from(memory.buffer, 0, bytes);
}

function takeStage(): Buffer {
  return freeStages.pop() ?? alignedBuffer(STAGE_BYTES + DIRECT_BLOCK_BYTES);
}

function giveBack(stage: Buffer): void {
  if (freeStages.length < MAX_FREE_STAGES) freeStages.push(stage);
}

/**
 * A segment file whose writes bypass the page cache (O_DIRECT); reads, fdatasync, truncation and size go
 * through the buffered file it wraps. For a replica's log: nobody reads it while its master serves, so caching
 * it only takes page cache from what consumers do read (a master of another group on the same machine), and
 * copying it there costs CPU that the chain shares with its master. Measured on the 2-core VM the bench runs
 * on, where a fresh page-cache page costs a hypervisor fault: the replicas' kernel time fell from about 4 to 1 µs
 * per message and a sync:1 chain of three published 15–60% more in paired runs (packages/bench/README.md).
 *
 * Each write copies its bytes into an aligned staging buffer and writes whole 4 KiB blocks, so the block
 * holding the previous write's end is written again, with the same bytes in front. Those bytes are kept from
 * the previous write, or read back from the file when the writer does not know them (the first write after
 * opening or a truncation). The rest of the last block is zeros: the file may run up to 4 KiB past the log's end
 * in zeros, which recovery already reads as the clean end of a log (as after preallocation). Writes run one at
 * a time, in the order they were asked for (truncations and the close too): two in flight could rewrite the
 * block they share in either order.
 *
 * Reads through the buffered descriptor stay correct: the kernel drops cached pages a direct write covers. What
 * would not is a buffered write to this file meanwhile (the kernel could then keep a stale dirty page), so the
 * log never preallocates a file it writes directly (zero-ahead.ts).
 *
 * Where the file system refuses a direct write (EINVAL: it supports O_DIRECT only with other alignment), or no
 * staging memory can be had, the file falls back to buffered writes for good, and the write goes through the
 * page cache.
 */
export class DirectStoreFile implements StoreFile {
  readonly direct = true;
  /** Set when a direct write was refused: every write since goes through the page cache. */
  private buffered = false;
  private queue: Promise<void> = Promise.resolve();
  /** The bytes of the file's last partial block, [tailEnd - tailEnd % 4 KiB, tailEnd), as the last write left them. */
  private readonly tail = Buffer.alloc(DIRECT_BLOCK_BYTES);
  /** Where the last write ended; -1 when unknown (nothing written yet, a truncation, a failed write). */
  private tailEnd = -1;

  private constructor(
    private readonly inner: StoreFile,
    private readonly handle: fs.FileHandle,
  ) {}

  /**
   * `inner` with its writes made direct, or the error that says why not: no O_DIRECT on this platform or file
   * system (EINVAL on tmpfs), or no staging memory.
   */
  static async open(inner: StoreFile): Promise<{ file: DirectStoreFile } | { error: Error }> {
    if (constants.O_DIRECT === undefined) return { error: new Error('O_DIRECT is not available on this platform') };
    try {
      // A staging buffer reserves address space for a WebAssembly memory, which a tight `ulimit -v` can refuse.
      giveBack(takeStage());
      const handle = await fs.open(inner.path, constants.O_RDWR | constants.O_DIRECT);
      return { file: new DirectStoreFile(inner, handle) };
    } catch (err) {
      return { error: err as Error };
    }
  }

  get path(): string {
    return this.inner.path;
  }

  read(buf: Buffer, offset: number, length: number, position: number): Promise<number> {
    return this.inner.read(buf, offset, length, position);
  }

  writev(buffers: Buffer[], position: number): Promise<void> {
    return this.inTurn(() => this.write(buffers, position));
  }

  /** Runs `op` once every write asked for before it is done, and before any asked for after it. */
  private inTurn(op: () => Promise<void>): Promise<void> {
    const run = this.queue.then(op);
    this.queue = run.catch(() => undefined);
    return run;
  }

  datasync(): Promise<void> {
    // The same inode: this flushes the disk's cache for the direct writes too, and commits the file's growth.
    return this.inner.datasync();
  }

  truncate(length: number): Promise<void> {
    return this.inTurn(async () => {
      this.tailEnd = -1;
      await this.inner.truncate(length);
    });
  }

  size(): Promise<number> {
    return this.inner.size();
  }

  close(): Promise<void> {
    return this.inTurn(async () => {
      await this.handle.close().catch(() => undefined);
      await this.inner.close();
    });
  }

  private async write(buffers: Buffer[], position: number): Promise<void> {
    if (this.buffered) return this.inner.writev(buffers, position);
    let stage: Buffer;
    try {
      stage = takeStage();
    } catch {
      // No memory for staging now: this write, and every later one, goes through the page cache.
      this.buffered = true;
      return this.inner.writev(buffers, position);
    }
    try {
      await this.writeDirect(stage, buffers, position);
    } catch (err) {
      this.tailEnd = -1;
      if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
      this.buffered = true;
      await this.inner.writev(buffers, position);
    } finally {
      giveBack(stage);
    }
  }

  private async writeDirect(stage: Buffer, buffers: Buffer[], position: number): Promise<void> {
    let blockStart = position - (position % DIRECT_BLOCK_BYTES);
    let fill = position - blockStart;
    if (fill > 0) {
      if (this.tailEnd === position) this.tail.copy(stage, 0, 0, fill);
      else {
        const read = await this.inner.read(stage, 0, fill, blockStart);
        if (read !== fill) throw new Error(`a write at ${position} of ${this.path} would leave a gap: the file ends at ${blockStart + read}`);
      }
    }
    let unwritten = false;
    for (const buffer of buffers) {
      for (let from = 0; from < buffer.length; ) {
        const n = Math.min(buffer.length - from, STAGE_BYTES - fill);
        buffer.copy(stage, fill, from, from + n);
        fill += n;
        from += n;
        unwritten = true;
        if (fill === STAGE_BYTES) {
          await this.writeBlocks(stage, fill, blockStart);
          unwritten = false;
          // The stage is a whole number of blocks, so nothing of a partial block is carried over.
          blockStart += fill;
          fill = 0;
        }
      }
    }
    if (unwritten) await this.writeBlocks(stage, fill, blockStart);
    const keep = fill % DIRECT_BLOCK_BYTES;
    stage.copy(this.tail, 0, fill - keep, fill);
    this.tailEnd = blockStart + fill;
  }

  /** Writes stage[0, fill) at `at` (block aligned), padded with zeros to whole blocks. */
  private async writeBlocks(stage: Buffer, fill: number, at: number): Promise<void> {
    const length = Math.ceil(fill / DIRECT_BLOCK_BYTES) * DIRECT_BLOCK_BYTES;
    stage.fill(0, fill, length);
    for (let done = 0; done < length; ) {
      const { bytesWritten } = await this.handle.write(stage, done, length - done, at + done);
      if (bytesWritten <= 0) throw new Error(`a direct write to ${this.path} at ${at + done} wrote nothing`);
      done += bytesWritten;
    }
  }
}
