import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RecordType, decodeRecord, readRecordHeader } from '@roomq/protocol';

/**
 * Keys of the given topics' messages in a broker's commit log, read from its segment files (the drill owns the
 * cluster and its data dirs). Tells an acknowledged key that no consumer received apart: still stored (a
 * delivery problem) or gone from the log (lost). A segment is read up to its SEGMENT_END or its last whole
 * record; the short tail after it holds no record.
 */
export async function storedKeys(dataDir: string, topics: ReadonlySet<string>): Promise<Set<string>> {
  const keys = new Set<string>();
  const dir = join(dataDir, 'commitlog');
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => /^\d{20}$/.test(n)).sort();
  for (const name of names) {
    const buf = await readFile(join(dir, name));
    let at = 0;
    while (at < buf.length) {
      const header = readRecordHeader(buf, at);
      if (typeof header === 'string' || header.type === RecordType.SEGMENT_END) break;
      const record = decodeRecord(buf, at);
      if (record.type === RecordType.MESSAGE && topics.has(record.topic)) for (const key of record.keys) keys.add(key);
      at += header.totalLength;
    }
  }
  return keys;
}
