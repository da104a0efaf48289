import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { nonZeroEnd } from '@roomq/protocol';

/** A member's commit log as it lies on disk. */
export interface LogDigest {
  member: string;
  /** sha256 of every segment file in base order, each file's name and bytes up to its zero-filled tail. */
  sha256: string;
  segments: number;
  /** Bytes hashed. */
  sizeBytes: number;
}

/**
 * Hashes a broker's commit log files (`<dataDir>/commitlog/<20-digit base>`, see the broker's store README).
 * Replication copies the log byte for byte at the same offsets, so once no member lags, every member of a
 * group must give the same digest: the strongest check there is that a cut, a failover and a failback left
 * no member with a record the others lack. A file's trailing zeros are left out: the last segment holds
 * zero-filled space past its records (each member preallocates its own amount). Every record starts with a
 * header that is not all zeros, so logs with different records still differ.
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
    // Zeros are hashed only once something that is not zero follows them.
    let zeros = 0;
    for await (const data of createReadStream(path)) {
      const chunk = data as Buffer;
      const end = nonZeroEnd(chunk);
      if (end === 0) {
        zeros += chunk.length;
        continue;
      }
      sizeBytes += zeros + end;
      for (; zeros > 0; zeros -= Math.min(zeros, ZERO_RUN.length)) hash.update(ZERO_RUN.subarray(0, Math.min(zeros, ZERO_RUN.length)));
      hash.update(chunk.subarray(0, end));
      zeros = chunk.length - end;
    }
  }
  return { member, sha256: hash.digest('hex'), segments: names.length, sizeBytes };
}

/** Zeros to hash a run of zeros that something not zero follows, a piece at a time. */
const ZERO_RUN = Buffer.alloc(64 * 1024);

export interface GroupLogs {
  group: string;
  identical: boolean;
  members: LogDigest[];
}

export async function compareGroupLogs(group: string, members: Array<{ name: string; dataDir: string }>): Promise<GroupLogs> {
  const digests = await Promise.all(members.map((m) => digestCommitLog(m.name, m.dataDir)));
  return { group, identical: digests.every((d) => d.sha256 === digests[0]?.sha256), members: digests };
}
