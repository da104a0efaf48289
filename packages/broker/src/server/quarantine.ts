import { mkdir, open, readdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { RecordType, forEachRecord, toRoomqError, type Logger } from '@roomq/protocol';

/** Folder, below the broker's dataDir, of log bytes cut on rejoin. */
export const QUARANTINE_DIR = 'quarantine';

/** What one quarantined cut held, as its `.json` file records it. */
export interface QuarantineEntry {
  /** File stem, e.g. `e2-000000001234-000000005678`: the `.rec` file holds the bytes. */
  id: string;
  /** Log range cut, [from, to). */
  from: number;
  to: number;
  bytes: number;
  messages: number;
  offsetCommits: number;
  cutAtMs: number;
  /** Epoch and leader that ordered the cut. */
  epoch: number;
  leader: string;
  reason: string;
  /** Set by `roomq quarantine replay` once every message was sent again. */
  replayedAtMs?: number;
}

/**
 * Log bytes a member cut off when it rejoined its group under a newer epoch: writes its old role took that the
 * new epoch never kept (in async mode or with sync timeouts these may have been acknowledged). They are never
 * dropped silently: each cut is saved here, durably and before the log is truncated, listed in the broker's
 * status and by `roomq quarantine list`, and can be sent again with `roomq quarantine replay`.
 */
export class Quarantine {
  private entries: QuarantineEntry[] = [];

  constructor(
    private readonly dataDir: string,
    private readonly logger: Logger,
  ) {}

  get dir(): string {
    return join(this.dataDir, QUARANTINE_DIR);
  }

  /** Loads what earlier runs kept. */
  async load(): Promise<void> {
    this.entries = await listQuarantine(this.dataDir);
  }

  list(): QuarantineEntry[] {
    return [...this.entries];
  }

  totals(): { bytes: number; records: number } {
    let bytes = 0;
    let records = 0;
    for (const e of this.entries) {
      if (e.replayedAtMs) continue;
      bytes += e.bytes;
      records += e.messages + e.offsetCommits;
    }
    return { bytes, records };
  }

  /**
   * Saves `records` (the whole log records of [from, to), concatenated) durably: bytes first, then the entry
   * naming them.
   */
  async save(from: number, to: number, records: Buffer, order: { epoch: number; leader: string; reason: string }): Promise<QuarantineEntry> {
    let messages = 0;
    let offsetCommits = 0;
    forEachRecord(records, (record) => {
      if (record.type === RecordType.MESSAGE) messages++;
      else if (record.type === RecordType.OFFSET_COMMIT) offsetCommits++;
    });
    const id = `e${order.epoch}-${String(from).padStart(12, '0')}-${String(to).padStart(12, '0')}`;
    const entry: QuarantineEntry = { id, from, to, bytes: records.length, messages, offsetCommits, cutAtMs: Date.now(), epoch: order.epoch, leader: order.leader, reason: order.reason };
    try {
      await mkdir(this.dir, { recursive: true });
      await writeDurably(join(this.dir, `${id}.rec`), records);
      await writeDurably(join(this.dir, `${id}.json`), Buffer.from(`${JSON.stringify(entry, null, 2)}\n`));
      await syncDir(this.dir);
    } catch (err) {
      throw toRoomqError(err, 'STORAGE_FAILED', `could not keep ${records.length} cut log bytes in ${this.dir}; the log was not truncated`);
    }
    this.entries = [...this.entries.filter((e) => e.id !== id), entry];
    this.logger.warn({ ...entry, dir: this.dir }, 'log bytes cut on rejoin kept in quarantine; list them with `roomq quarantine list`, send them again with `roomq quarantine replay`');
    return entry;
  }
}

/** Every entry under `dataDir`'s quarantine folder, oldest cut first. */
export async function listQuarantine(dataDir: string): Promise<QuarantineEntry[]> {
  const dir = join(dataDir, QUARANTINE_DIR);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const entries: QuarantineEntry[] = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    entries.push(JSON.parse(await readFile(join(dir, name), 'utf8')) as QuarantineEntry);
  }
  return entries.sort((a, b) => a.cutAtMs - b.cutAtMs || (a.id < b.id ? -1 : 1));
}

/** The records of one entry. */
export function readQuarantined(dataDir: string, id: string): Promise<Buffer> {
  return readFile(join(dataDir, QUARANTINE_DIR, `${id}.rec`));
}

/** Records that an entry was sent again, so totals and listings stop counting it as pending. */
export async function markReplayed(dataDir: string, entry: QuarantineEntry): Promise<void> {
  const updated = { ...entry, replayedAtMs: Date.now() };
  await writeDurably(join(dataDir, QUARANTINE_DIR, `${entry.id}.json`), Buffer.from(`${JSON.stringify(updated, null, 2)}\n`));
}

async function writeDurably(path: string, bytes: Buffer): Promise<void> {
  const tmp = `${path}.tmp`;
  const file = await open(tmp, 'w');
  try {
    await file.writeFile(bytes);
    await file.datasync();
  } finally {
    await file.close();
  }
  await rename(tmp, path);
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
