import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** A member's commit log as it lies on disk. */
export interface LogDigest {
  member: string;
  /** sha256 of every segment file in base order, each file's name and bytes. */
  sha256: string;
  segments: number;
  sizeBytes: number;
}

/**
 * Hashes a broker's commit log files (`<dataDir>/commitlog/<20-digit base>`, see the broker's store README).
 * Replication copies the log byte for byte at the same offsets, so once no member lags, every member of a
 * group must give the same digest: the strongest check there is that a cut, a failover and a failback left
 * no member with a record the others lack.
 */
export async function digestCommitLog(member: string, dataDir: string): Promise<LogDigest> {
  const dir = join(dataDir, 'commitlog');
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => /^\d{20}$/.test(n)).sort();
  const hash = createHash('sha256');
  let sizeBytes = 0;
  for (const name of names) {
    const path = join(dir, name);
    // The name is hashed too: the same bytes at another base offset are another log.
    hash.update(`${name}\n`);
    sizeBytes += (await stat(path)).size;
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  }
  return { member, sha256: hash.digest('hex'), segments: names.length, sizeBytes };
}

export interface GroupLogs {
  group: string;
  identical: boolean;
  members: LogDigest[];
}

export async function compareGroupLogs(group: string, members: Array<{ name: string; dataDir: string }>): Promise<GroupLogs> {
  const digests = await Promise.all(members.map((m) => digestCommitLog(m.name, m.dataDir)));
  return { group, identical: digests.every((d) => d.sha256 === digests[0]?.sha256), members: digests };
}
