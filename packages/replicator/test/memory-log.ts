import {
  RECORD_HEADER_SIZE,
  RecordType,
  RoomqError,
  encodeMessageSection,
  readRecordHeader,
  recordChecksumValid,
  writeMessageRecord,
  writeSegmentEndRecord,
} from '@roomq/protocol';
import type { ReplicaLog } from '../src/replica-log.js';

interface RecordInfo {
  length: number;
  crc: number;
  type: number;
}

export interface MemoryLogOptions {
  segmentSizeBytes?: number;
  /** When false, appended bytes become durable only on makeDurable(): tests the "durable bytes only" rule. */
  autoDurable?: boolean;
  /** Delay of every appendReplicated, to hold a replica behind. */
  appendDelayMs?: number;
}

export interface AppendOptions {
  bodyBytes?: number;
  /** Fills bodies with this byte: two logs with different fills hold the same layout but different bytes. */
  fill?: number;
  storeTimestampMs?: number;
}

/**
 * A ReplicaLog in one Buffer, holding real v1 records at their physical offsets, with the store's segment
 * rule: a record that does not fit closes the segment with SEGMENT_END (or a gap under 28 bytes) and goes to
 * the next segment's base. logEndOffset() is the end of the written bytes, so after a closed segment it is
 * not where the next record goes (the harder of the two conventions a store may follow).
 */
export class MemoryLog implements ReplicaLog {
  private data = Buffer.alloc(1 << 20);
  private end = 0;
  private durable = 0;
  private closed = false;
  private readonly starts: number[] = [];
  private readonly records = new Map<number, RecordInfo>();
  private waiters: Array<{ after: number; resolve(): void }> = [];
  private queueOffset = 0;
  private messageSeq = 0;
  readonly segmentSize: number;
  private readonly autoDurable: boolean;
  private readonly appendDelayMs: number;
  appendCalls = 0;

  constructor(options: MemoryLogOptions = {}) {
    this.segmentSize = options.segmentSizeBytes ?? 1024 * 1024;
    this.autoDurable = options.autoDurable ?? true;
    this.appendDelayMs = options.appendDelayMs ?? 0;
  }

  // --- writing as a master does ---------------------------------------------------------------------

  /** Appends `count` MESSAGE records; returns the log end. */
  appendMessages(count: number, options: AppendOptions = {}): number {
    const body = Buffer.alloc(options.bodyBytes ?? 1000, options.fill ?? 0x61);
    for (let i = 0; i < count; i++) {
      const section = encodeMessageSection({
        topic: 'orders',
        messageId: `m-${this.messageSeq++}`,
        tag: '',
        keys: [],
        properties: {},
        body,
        bornTimestampMs: 1_700_000_000_000,
      });
      const size = RECORD_HEADER_SIZE + 12 + section.length;
      const ts = options.storeTimestampMs ?? Date.now();
      const at = this.place(size, ts);
      this.ensure(at + size);
      writeMessageRecord(this.data, at, { physicalOffset: at, storeTimestampMs: ts, queueId: 0, queueOffset: this.queueOffset++ }, section);
      this.index(at, size);
      this.end = at + size;
      this.closed = false;
    }
    if (this.autoDurable) this.makeDurable();
    return this.end;
  }

  makeDurable(upTo = this.end): void {
    this.durable = Math.max(this.durable, Math.min(upTo, this.end));
    const ready = this.waiters.filter((w) => this.durable > w.after);
    this.waiters = this.waiters.filter((w) => this.durable <= w.after);
    for (const w of ready) w.resolve();
  }

  /** The written bytes [0, end), gaps zero-filled. */
  bytes(): Buffer {
    return Buffer.from(this.data.subarray(0, this.end));
  }

  recordCount(): number {
    return this.starts.length;
  }

  /** Test hook: change one byte in place (a corrupted or diverged log). */
  corrupt(offset: number): void {
    this.data[offset] = this.data[offset]! ^ 0xff;
  }

  private place(size: number, ts: number): number {
    let at = this.nextPosition();
    const segmentEnd = at - (at % this.segmentSize) + this.segmentSize;
    if (at + size > segmentEnd) {
      if (segmentEnd - at >= RECORD_HEADER_SIZE) {
        this.ensure(at + RECORD_HEADER_SIZE);
        writeSegmentEndRecord(this.data, at, at, ts);
        this.index(at, RECORD_HEADER_SIZE);
        this.end = at + RECORD_HEADER_SIZE;
      }
      at = segmentEnd;
    }
    return at;
  }

  /** Where the next record goes: the next segment's base once the current one is closed. */
  nextPosition(): number {
    const into = this.end % this.segmentSize;
    if (into === 0) return this.end;
    if (this.closed || this.segmentSize - into < RECORD_HEADER_SIZE) return this.end - into + this.segmentSize;
    const last = this.starts.at(-1);
    if (last !== undefined && this.records.get(last)?.type === RecordType.SEGMENT_END) return this.end - into + this.segmentSize;
    return this.end;
  }

  private ensure(size: number): void {
    if (size <= this.data.length) return;
    let capacity = this.data.length;
    while (capacity < size) capacity *= 2;
    const next = Buffer.alloc(capacity);
    this.data.copy(next, 0, 0, this.end);
    this.data = next;
  }

  private index(at: number, length: number): void {
    this.starts.push(at);
    this.records.set(at, { length, crc: this.data.readUInt32BE(at + 8), type: this.data[at + 7]! });
  }

  // --- ReplicaLog -----------------------------------------------------------------------------------

  logEndOffset(): number {
    return this.end;
  }

  durableOffset(): number {
    return this.durable;
  }

  segmentSizeBytes(): number {
    return this.segmentSize;
  }

  async readLog(from: number, maxBytes: number): Promise<Buffer> {
    if (!this.records.has(from)) {
      if (from >= this.durable) return Buffer.alloc(0);
      throw new RoomqError('INVALID_OFFSET', `no record starts at ${from}`, { details: { offset: from } });
    }
    let at = from;
    for (let info = this.records.get(at); info !== undefined; info = this.records.get(at)) {
      if (at + info.length > this.durable) break;
      if (at > from && at - from + info.length > maxBytes) break;
      at += info.length;
      if (info.type === RecordType.SEGMENT_END) break;
    }
    return Buffer.from(this.data.subarray(from, at));
  }

  waitForDurable(after: number, signal: AbortSignal): Promise<void> {
    if (this.durable > after) return Promise.resolve();
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(new RoomqError('ABORTED', 'wait aborted', { cause: signal.reason }));
        return;
      }
      const onAbort = (): void => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new RoomqError('ABORTED', 'wait aborted', { cause: signal.reason }));
      };
      const waiter = {
        after,
        resolve: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.waiters.push(waiter);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  async appendReplicated(at: number, records: Buffer): Promise<void> {
    this.appendCalls++;
    const expected = this.nextPosition();
    if (at !== expected) throw new RoomqError('INVALID_OFFSET', `append at ${at} but the log continues at ${expected}`, { details: { offset: at } });
    // Verify everything before writing anything.
    const found: Array<[number, number]> = [];
    for (let p = 0; p < records.length; ) {
      const header = readRecordHeader(records, p, records.length - p);
      const offset = at + p;
      if (typeof header === 'string') throw corrupted(offset, header);
      if (!recordChecksumValid(records, p, header.totalLength)) throw corrupted(offset, 'checksum');
      if (header.physicalOffset !== offset) throw corrupted(offset, `placed for ${header.physicalOffset}`);
      if (Math.floor(offset / this.segmentSize) !== Math.floor((offset + header.totalLength - 1) / this.segmentSize)) throw corrupted(offset, 'crosses a segment');
      if (header.type === RecordType.SEGMENT_END && p + header.totalLength !== records.length) throw corrupted(offset, 'SEGMENT_END not last');
      found.push([offset, header.totalLength]);
      p += header.totalLength;
    }
    if (this.appendDelayMs > 0) await new Promise((r) => setTimeout(r, this.appendDelayMs));
    else await new Promise((r) => setImmediate(r));
    if (this.nextPosition() !== at) throw new RoomqError('INVALID_OFFSET', `concurrent append at ${at}`);
    this.ensure(at + records.length);
    records.copy(this.data, at);
    for (const [offset, length] of found) this.index(offset, length);
    if (records.length > 0) {
      this.end = at + records.length;
      this.closed = this.records.get(found.at(-1)![0])!.type === RecordType.SEGMENT_END;
    }
    this.makeDurable();
  }

  async truncate(offset: number): Promise<Buffer> {
    const removed = Buffer.from(this.data.subarray(offset, this.end));
    while (this.starts.length > 0 && this.starts.at(-1)! >= offset) this.records.delete(this.starts.pop()!);
    this.data.fill(0, offset, this.end);
    this.end = offset;
    this.durable = Math.min(this.durable, offset);
    const last = this.starts.at(-1);
    this.closed = last !== undefined && this.records.get(last)!.type === RecordType.SEGMENT_END;
    return removed;
  }

  async lastRecord(): Promise<{ offset: number; crc: number } | undefined> {
    const last = this.starts.at(-1);
    return last === undefined ? undefined : { offset: last, crc: this.records.get(last)!.crc };
  }

  async recordCrcAt(offset: number): Promise<number | undefined> {
    return this.records.get(offset)?.crc;
  }

  /** Epoch starts a test sets by hand (the broker derives them from marker records); epoch 1 at 0 otherwise. */
  epochs: Array<{ epoch: number; startOffset: number }> = [{ epoch: 1, startOffset: 0 }];

  epochHistory(): Array<{ epoch: number; startOffset: number }> {
    return this.epochs.filter((e) => e.startOffset <= this.logEndOffset());
  }
}

function corrupted(offset: number, why: string): RoomqError {
  return new RoomqError('MESSAGE_CORRUPTED', `record at log offset ${offset} is bad (${why}); nothing was appended`, { details: { offset } });
}
