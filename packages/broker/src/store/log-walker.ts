import { RECORD_HEADER_SIZE, RecordType, decodeRecord, readRecordHeader, type RecordHeader } from '@roomq/protocol';
import type { CommitLog } from './commit-log.js';
import type { CorruptRange } from './log-scanner.js';

/**
 * Read-only walks over records already verified by recovery or by the write path, for rare operations
 * (truncation, finding the last record after an upgrade). Headers are trusted, checksums are not re-checked.
 */

const WINDOW_BYTES = 8 * 1024 * 1024;

/** Called for each record of a walk; `buf[at, at + header.totalLength)` holds it. */
type WalkVisitor = (buf: Buffer, at: number, header: RecordHeader, position: number) => void;

/**
 * Visits the records of segment `index` that start before `end`, in log order, from the segment's base. A
 * record that does not parse ends the walk unless it starts a known corrupt range, which is skipped.
 */
async function walkSegment(log: CommitLog, index: number, end: number, corrupt: readonly CorruptRange[], visit: WalkVisitor): Promise<void> {
  const segment = log.segments[index]!;
  const dataEnd = Math.min(end, segment.base + (await log.fileSize(segment)));
  let window: Buffer = Buffer.alloc(0);
  let windowStart = segment.base;
  let position = segment.base;
  while (position + RECORD_HEADER_SIZE <= dataEnd) {
    let at = position - windowStart;
    if (at < 0 || at + RECORD_HEADER_SIZE > window.length) {
      window = await log.read(position, Math.min(WINDOW_BYTES, dataEnd - position));
      windowStart = position;
      at = 0;
    }
    const claimed = window.readUInt32BE(at);
    if (claimed > window.length - at && position + claimed <= dataEnd) {
      window = await log.read(position, Math.min(Math.max(WINDOW_BYTES, claimed), dataEnd - position));
      windowStart = position;
      at = 0;
    }
    const header = readRecordHeader(window, at, window.length - at);
    if (typeof header === 'string' || header.physicalOffset !== position) {
      const range = corrupt.find((r) => r.start <= position && r.end > position);
      if (!range) return;
      position = range.end;
      continue;
    }
    visit(window, at, header, position);
    if (header.type === RecordType.SEGMENT_END) return;
    position += header.totalLength;
  }
}

/** Start of the last record that starts before `end`, or undefined when there is none. */
export async function lastRecordBefore(log: CommitLog, end: number, corrupt: readonly CorruptRange[]): Promise<number | undefined> {
  for (let index = log.segmentIndexFor(end - 1); index >= 0; index--) {
    let last: number | undefined;
    await walkSegment(log, index, end, corrupt, (_buf, _at, _header, position) => (last = position));
    if (last !== undefined) return last;
  }
  return undefined;
}

/** The log bytes in [from, to), segment data concatenated (the unused tail of a segment holds none). */
export async function readLogRange(log: CommitLog, from: number, to: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let position = from;
  for (let index = Math.max(0, log.segmentIndexFor(from)); index < log.segments.length && position < to; index++) {
    const segment = log.segments[index]!;
    const dataEnd = Math.min(to, segment.base + (await log.fileSize(segment)));
    position = Math.max(position, segment.base);
    if (dataEnd > position) parts.push(await log.read(position, dataEnd - position));
    position = log.segmentEnd(index);
  }
  return Buffer.concat(parts);
}

/**
 * For each (group, topic, queueId) in `keys`, the offset of its last OFFSET_COMMIT record before `end`. Walks
 * segments backwards and stops once every key is found, so a recently committed group costs one segment; a key
 * never committed before `end` costs a walk of the whole log.
 */
export async function lastOffsetCommits(
  log: CommitLog,
  end: number,
  keys: ReadonlySet<string>,
  keyOf: (group: string, topic: string, queueId: number) => string,
  corrupt: readonly CorruptRange[],
): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for (let index = log.segmentIndexFor(end - 1); index >= 0 && found.size < keys.size; index--) {
    const inSegment = new Map<string, number>();
    await walkSegment(log, index, end, corrupt, (buf, at, header) => {
      if (header.type !== RecordType.OFFSET_COMMIT) return;
      let record;
      try {
        record = decodeRecord(buf, at, header.totalLength);
      } catch {
        return; // a bad record was reported by recovery or a read; it decided nothing
      }
      if (record.type !== RecordType.OFFSET_COMMIT) return;
      const key = keyOf(record.group, record.topic, record.queueId);
      if (keys.has(key) && !found.has(key)) inSegment.set(key, Math.max(inSegment.get(key) ?? 0, record.offset));
    });
    for (const [key, offset] of inSegment) found.set(key, offset);
  }
  return found;
}
