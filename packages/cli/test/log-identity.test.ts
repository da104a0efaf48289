import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { digestCommitLog } from '../src/drill/log-identity.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** A data dir whose one segment holds `bytes`. */
async function member(bytes: Buffer): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'roomq-digest-'));
  dirs.push(dir);
  await mkdir(join(dir, 'commitlog'));
  await writeFile(join(dir, 'commitlog', '0'.repeat(20)), bytes);
  return dir;
}

describe('commit-log digest', () => {
  it('leaves out zero-filled space past the records, and nothing else', async () => {
    // Zeros inside the records count; only the file's trailing zeros do not.
    const records = Buffer.concat([Buffer.from('records'), Buffer.alloc(100_000), Buffer.from('more')]);
    const bare = await digestCommitLog('a', await member(records));
    const preallocated = await digestCommitLog('b', await member(Buffer.concat([records, Buffer.alloc(3 * 1024 * 1024)])));
    const shorter = await digestCommitLog('c', await member(records.subarray(0, records.length - 1)));
    expect(preallocated.sha256).toBe(bare.sha256);
    expect(preallocated.sizeBytes).toBe(records.length);
    expect(shorter.sha256).not.toBe(bare.sha256);
  });
});
