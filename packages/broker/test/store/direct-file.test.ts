import { randomBytes } from 'node:crypto';
import { readFile, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DIRECT_BLOCK_BYTES, DirectStoreFile } from '../../src/store/direct-file.js';
import { nodeFileIO, type StoreFile } from '../../src/store/index.js';
import { tempDir } from './helpers.js';

const TMPFS_MAGIC = 0x01021994;

/** A file opened as the commit log opens a segment, with its writes made direct. */
async function openDirect(path: string, flags: 'r+' | 'w+'): Promise<{ file: StoreFile; direct: boolean }> {
  const inner = await nodeFileIO.open(path, flags);
  const opened = await DirectStoreFile.open(inner);
  if ('error' in opened) return { file: inner, direct: false };
  return { file: opened.file, direct: true };
}

/** Writes `sizes` one after another from `start`, each as two buffers; returns everything written. */
async function writeRuns(file: StoreFile, start: number, sizes: number[]): Promise<Buffer> {
  const written: Buffer[] = [];
  let at = start;
  for (const size of sizes) {
    const bytes = randomBytes(size);
    const cut = Math.floor(size / 3);
    await file.writev([bytes.subarray(0, cut), bytes.subarray(cut)], at);
    written.push(bytes);
    at += size;
  }
  return Buffer.concat(written);
}

describe('DirectStoreFile', () => {
  it('writes runs of any size at any offset, byte for byte, the file ending within a block of zeros past them', async () => {
    const dir = await tempDir();
    const path = join(dir, 'segment');
    const { file, direct } = await openDirect(path, 'w+');
    // This must hold wherever the tests run on ext4 or xfs (our machines); tmpfs has no O_DIRECT, and the
    // store then keeps writing through the page cache, which the 'w+' file below still shows.
    expect(direct, 'O_DIRECT refused on a file system that is not tmpfs').toBe((await statfs(dir)).type !== TMPFS_MAGIC);
    // Unaligned starts and ends, exact blocks, a run that ends on a block, and runs longer than one staging
    // buffer (2 MiB) that start mid-block.
    const sizes = [1, 100, 4095, 1, DIRECT_BLOCK_BYTES, 3 * DIRECT_BLOCK_BYTES, 777, 2 * 1024 * 1024 + 5, 4096 - 777, 5 * 1024 * 1024 + 123, 9];
    const expected = await writeRuns(file, 0, sizes);
    await file.datasync();
    const contents = await readFile(path);
    expect(contents.subarray(0, expected.length).equals(expected)).toBe(true);
    expect(contents.subarray(expected.length).every((b) => b === 0)).toBe(true);
    expect(contents.length - expected.length).toBeLessThan(DIRECT_BLOCK_BYTES);
    if (direct) expect(contents.length % DIRECT_BLOCK_BYTES).toBe(0);

    // Reads go through the page cache and see what the direct writes put on disk.
    const back = Buffer.alloc(5000);
    expect(await file.read(back, 0, 5000, expected.length - 5000)).toBe(5000);
    expect(back.equals(expected.subarray(expected.length - 5000))).toBe(true);
    await file.close();
  });

  it('after a reopen or a truncation, reads the bytes in front of a mid-block write back from the file', async () => {
    const dir = await tempDir();
    const path = join(dir, 'segment');
    const first = await openDirect(path, 'w+');
    const head = await writeRuns(first.file, 0, [5000, 1234]);
    await first.file.close();

    // A new writer knows nothing of the block it continues: the 6234 bytes in front must come from the file.
    const second = await openDirect(path, 'r+');
    const more = await writeRuns(second.file, head.length, [10, 4000]);
    let expected = Buffer.concat([head, more]);
    expect((await readFile(path)).subarray(0, expected.length).equals(expected)).toBe(true);

    // Cut back to mid-block, as a rejoining replica does, and go on from there.
    const cut = 7000;
    await second.file.truncate(cut);
    expect((await stat(path)).size).toBe(cut);
    const after = await writeRuns(second.file, cut, [3000]);
    expected = Buffer.concat([expected.subarray(0, cut), after]);
    const contents = await readFile(path);
    expect(contents.subarray(0, expected.length).equals(expected)).toBe(true);
    expect(contents.subarray(expected.length).every((b) => b === 0)).toBe(true);
    await second.file.close();
  });

  it('runs writes and truncations one at a time in the order asked, so two writes that share a block do not undo each other', async () => {
    const dir = await tempDir();
    const path = join(dir, 'segment');
    const { file } = await openDirect(path, 'w+');
    const parts = Array.from({ length: 40 }, (_, i) => randomBytes(100 + i * 37));
    let at = 0;
    const writes: Promise<void>[] = [];
    for (const part of parts) {
      writes.push(file.writev([part], at));
      at += part.length;
    }
    await Promise.all(writes);
    expect((await readFile(path)).subarray(0, at).equals(Buffer.concat(parts))).toBe(true);

    // A truncation asked for while a write is pending waits for it, and a write asked for after it follows it.
    const more = file.writev([randomBytes(3 * DIRECT_BLOCK_BYTES)], at);
    const cut = file.truncate(1000);
    const after = file.writev([Buffer.from('tail')], 1000);
    await Promise.all([more, cut, after]);
    const contents = await readFile(path);
    expect(contents.subarray(0, 1000).equals(Buffer.concat(parts).subarray(0, 1000))).toBe(true);
    expect(contents.subarray(1000, 1004).toString()).toBe('tail');
    expect(contents.subarray(1004).every((b) => b === 0)).toBe(true);
    await file.close();
  });

  it('refuses a write that would leave a gap before it, writing nothing', async () => {
    const dir = await tempDir();
    const path = join(dir, 'segment');
    const { file, direct } = await openDirect(path, 'w+');
    if (!direct) return; // a buffered file writes past its end as the OS allows; the gap check is the direct writer's
    await writeRuns(file, 0, [100]);
    await file.close();
    const reopened = await openDirect(path, 'r+');
    // The first write left one block (its 100 bytes, then zeros): 5000 lies past the file's end.
    await expect(reopened.file.writev([Buffer.from('late')], 5000)).rejects.toThrow(/would leave a gap/);
    expect((await stat(path)).size).toBe(DIRECT_BLOCK_BYTES);
    await reopened.file.close();
  });
});
