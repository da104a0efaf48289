import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { MessageIdGenerator, encodeMessageSection, forEachRecord, summarizeMessageSection, type MessageRecord } from '@roomq/protocol';
import { pino, type Logger } from 'pino';
import { afterEach } from 'vitest';
import { MessageStore, nodeFileIO, type AppendRequest, type FileIO, type MessageStoreOptions, type StoreFile } from '../../src/store/index.js';

const dirs: string[] = [];
const stores: MessageStore[] = [];

afterEach(async () => {
  for (const store of stores.splice(0)) await store.close().catch(() => undefined);
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'roomq-store-'));
  dirs.push(dir);
  return dir;
}

/** Copies a live store's directory: what a kill -9 leaves (the page cache survives a process crash). */
export async function crashCopy(dataDir: string): Promise<string> {
  const copy = await tempDir();
  await cp(dataDir, copy, { recursive: true });
  return copy;
}

export async function openStore(options: MessageStoreOptions, deps: Parameters<typeof MessageStore.open>[1] = {}): Promise<MessageStore> {
  const store = await MessageStore.open(options, deps);
  stores.push(store);
  return store;
}

const ids = new MessageIdGenerator();

export interface TestMessage {
  topic: string;
  queueId?: number;
  body?: Buffer | string;
  keys?: string[];
  tag?: string;
  messageId?: string;
}

export function request(message: TestMessage): AppendRequest {
  const section = encodeMessageSection({
    topic: message.topic,
    messageId: message.messageId ?? ids.next(),
    tag: message.tag ?? '',
    keys: message.keys ?? [],
    properties: { origin: 'test' },
    body: Buffer.isBuffer(message.body) ? message.body : Buffer.from(message.body ?? 'hello'),
    bornTimestampMs: 1_700_000_000_000,
  });
  return { queueId: message.queueId ?? 0, section, summary: summarizeMessageSection(section, 0, section.length) };
}

/** Decodes a read's records (which verifies each checksum again). */
export function decode(records: Buffer): MessageRecord[] {
  const out: MessageRecord[] = [];
  forEachRecord(records, (record) => {
    if (record.type === 1) out.push(record);
  });
  return out;
}

/** Every message of a queue, read in pages. */
export async function readAll(store: MessageStore, topic: string, queueId: number, page = 100): Promise<MessageRecord[]> {
  const out: MessageRecord[] = [];
  let offset = 0;
  for (;;) {
    const result = await store.readQueue(topic, queueId, offset, page, 1024 * 1024);
    out.push(...decode(result.records));
    offset = result.nextOffset;
    if (offset >= result.endOffset) return out;
  }
}

/** Polls `condition` until it holds or the deadline passes. */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** A pino logger whose entries the test can inspect. */
export function capturingLogger(): { logger: Logger; entries: Array<Record<string, unknown>> } {
  const entries: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) entries.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: pino({ level: 'trace' }, stream), entries };
}

function errnoError(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${code}: simulated failure, ${syscall} '${path}'`);
  err.code = code;
  err.syscall = syscall;
  err.path = path;
  return err;
}

/** Holds the calls that pass it while held, until released. */
class Gate {
  private held: Array<() => void> | undefined;

  hold(): void {
    this.held = [];
  }

  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const go of held) go();
  }

  /** Calls waiting at the gate now. */
  get waiting(): number {
    return this.held?.length ?? 0;
  }

  async pass(): Promise<void> {
    if (this.held) await new Promise<void>((resolve) => this.held!.push(resolve));
  }
}

/**
 * The real file system with switchable faults on commit-log files: writes or fdatasyncs can fail with an
 * errno, and writes or fdatasyncs can be held until the test releases them. With `zeroFill`, files also take
 * the store's zero writes (preallocation), which can be held or failed on their own; every data write issued
 * while a zero write over the same bytes is in flight is counted in `writesOverZeroWrites`.
 */
export class FaultyIO implements FileIO {
  writeError: string | undefined;
  syncError: string | undefined;
  zeroWriteError: string | undefined;
  writesStarted = 0;
  syncsStarted = 0;
  zeroWritesStarted = 0;
  writesOverZeroWrites = 0;
  /** Writes of any kind issued on a file after it was closed. */
  writesAfterClose = 0;
  /** Bytes asked of commit-log files by reads. */
  commitLogBytesRead = 0;
  private readonly writes = new Gate();
  private readonly syncs = new Gate();
  private readonly zeroWrites = new Gate();
  private readonly zeroWritesInFlight = new Set<{ path: string; start: number; end: number }>();

  /**
   * @param zeroFill gives commit-log files writeZeros (preallocation).
   * @param inline gives them writevNow, so small groups take the store's on-thread write path; its faults are
   *   writeError and syncError, thrown synchronously as a real writevSync/fdatasyncSync would.
   */
  constructor(
    private readonly zeroFill = false,
    private readonly inline = false,
  ) {}

  /** Holds commit-log fdatasyncs until releaseSyncs(). */
  holdSyncs(): void {
    this.syncs.hold();
  }

  releaseSyncs(): void {
    this.syncs.release();
  }

  /** Holds commit-log writes until release(). */
  hold(): void {
    this.writes.hold();
  }

  release(): void {
    this.writes.release();
  }

  /** Holds zero writes until releaseZeroWrites(). */
  holdZeroWrites(): void {
    this.zeroWrites.hold();
  }

  releaseZeroWrites(): void {
    this.zeroWrites.release();
  }

  get zeroWritesHeld(): number {
    return this.zeroWrites.waiting;
  }

  async open(path: string, flags: 'r' | 'r+' | 'w+'): Promise<StoreFile> {
    const file = await nodeFileIO.open(path, flags);
    if (!path.includes('commitlog')) return file;
    let closed = false;
    const faulty: StoreFile = {
      path: file.path,
      read: (buf, offset, length, position) => {
        this.commitLogBytesRead += length;
        return file.read(buf, offset, length, position);
      },
      writev: async (buffers, position) => {
        this.writesStarted++;
        if (closed) this.writesAfterClose++;
        const end = position + buffers.reduce((sum, b) => sum + b.length, 0);
        for (const zeros of this.zeroWritesInFlight) if (zeros.path === path && zeros.start < end && position < zeros.end) this.writesOverZeroWrites++;
        await this.writes.pass();
        if (this.writeError) throw errnoError(this.writeError, 'write', path);
        return file.writev(buffers, position);
      },
      datasync: async () => {
        this.syncsStarted++;
        await this.syncs.pass();
        if (this.syncError) throw errnoError(this.syncError, 'fdatasync', path);
        return file.datasync();
      },
      truncate: (length) => file.truncate(length),
      size: () => file.size(),
      close: () => {
        closed = true;
        return file.close();
      },
    };
    if (this.inline) {
      faulty.writevNow = (buffers, position, sync) => {
        this.writesStarted++;
        if (closed) this.writesAfterClose++;
        if (this.writeError) throw errnoError(this.writeError, 'write', path);
        if (sync) {
          this.syncsStarted++;
          if (this.syncError) throw errnoError(this.syncError, 'fdatasync', path);
        }
        file.writevNow!(buffers, position, sync);
      };
    }
    if (this.zeroFill) {
      faulty.writeZeros = async (position, length) => {
        this.zeroWritesStarted++;
        if (closed) this.writesAfterClose++;
        const range = { path, start: position, end: position + length };
        this.zeroWritesInFlight.add(range);
        try {
          await this.zeroWrites.pass();
          if (this.zeroWriteError) throw errnoError(this.zeroWriteError, 'write', path);
          await file.writeZeros!(position, length);
        } finally {
          this.zeroWritesInFlight.delete(range);
        }
      };
    }
    return faulty;
  }
  mkdir = nodeFileIO.mkdir;
  rename = nodeFileIO.rename;
  readdir = nodeFileIO.readdir;
  stat = nodeFileIO.stat;
  unlink = nodeFileIO.unlink;
  truncate = nodeFileIO.truncate;
}
