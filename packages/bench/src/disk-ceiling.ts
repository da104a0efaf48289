import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The disk's own limit for what the commit log does: append `batch` records of `recordBytes`, then
 * fdatasync, over and over (async fs, as the store does). The store is judged against this figure.
 */
export async function diskCeiling(dir: string, recordBytes: number, batch: number, seconds: number): Promise<{ msgsPerSec: number; syncsPerSec: number; mbPerSec: number }> {
  const path = join(dir, `ceiling-${batch}.bin`);
  const file = await open(path, 'w');
  const buf = Buffer.alloc(recordBytes * batch, 0x5a);
  let syncs = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  try {
    while (performance.now() < deadline) {
      await file.write(buf);
      await file.datasync();
      syncs++;
    }
  } finally {
    await file.close();
    await rm(path, { force: true });
  }
  const elapsed = (performance.now() - started) / 1000;
  return { msgsPerSec: (syncs * batch) / elapsed, syncsPerSec: syncs / elapsed, mbPerSec: (syncs * buf.length) / elapsed / 1e6 };
}
