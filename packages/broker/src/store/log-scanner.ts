import { RECORD_HEADER_SIZE, RecordType, nonZeroEnd, readRecordHeader, readU64, recordChecksumValid, type RecordHeader } from '@roomq/protocol';
import type { Logger } from 'pino';
import type { CommitLog } from './commit-log.js';

export interface CorruptRange {
  start: number;
  end: number;
  reason: string;
}

export interface ScanResult {
  /** Where the valid log ends; the next record goes here (or at the next segment when the segment is spent). */
  end: number;
  corrupt: CorruptRange[];
}

/** Called for every valid record, in log order; `buf[at, at + header.totalLength)` is the record. */
export type RecordVisitor = (buf: Buffer, at: number, header: RecordHeader) => void;

const WINDOW_BYTES = 8 * 1024 * 1024;
const RESYNC_WINDOW_BYTES = 1024 * 1024;

/** Sliding read window over one segment. */
class Window {
  buf: Buffer = Buffer.alloc(0);
  start = 0; // global position of buf[0]
  constructor(
    private readonly log: CommitLog,
    private readonly dataEnd: number,
  ) {}
  /** Makes [position, position + length) readable (clipped to the segment's data); returns the buffer index. */
  async ensure(position: number, length: number): Promise<number> {
    const want = Math.min(position + length, this.dataEnd);
    if (position >= this.start && want <= this.start + this.buf.length) return position - this.start;
    const size = Math.min(Math.max(WINDOW_BYTES, length), this.dataEnd - position);
    this.buf = await this.log.read(position, size);
    this.start = position;
    return 0;
  }
  get end(): number {
    return this.start + this.buf.length;
  }
}

/** Checks the record at `position` completely: header, placement and checksum. */
function validAt(buf: Buffer, at: number, available: number, position: number): RecordHeader | string {
  const header = readRecordHeader(buf, at, available);
  if (typeof header === 'string') return header;
  if (header.physicalOffset !== position) return 'misplaced';
  if (!recordChecksumValid(buf, at, header.totalLength)) return 'bad-checksum';
  return header;
}

/**
 * Verifies every record from `from` to the end of the log, calling `visit` for each valid one. A bad record
 * followed by valid ones is corruption: its range is reported and skipped. A bad record with nothing valid
 * after it is a torn tail: the log is cut back there, unless that would remove bytes before
 * `noTruncateBelow` (fsynced data), in which case the rest of the segment is reported corrupt instead.
 *
 * The last segment may end in zero-filled space (preallocation, zero-ahead.ts): zeros from a record boundary at
 * or past `noTruncateBelow` to the end of the file are the clean end of the log, kept as they are. Zeros count as nothing anywhere else
 * (a torn record followed by zeros is a torn tail of the torn record's bytes). A segment the scan finds spent
 * (SEGMENT_END, or too little room left) is cut to its data, so its file ends where its data does.
 */
export async function scanLog(log: CommitLog, from: number, noTruncateBelow: number, visit: RecordVisitor, logger: Logger): Promise<ScanResult> {
  const corrupt: CorruptRange[] = [];
  let index = log.segmentIndexFor(from);
  if (index < 0) {
    if (log.segments.length === 0) return { end: from, corrupt };
    index = 0;
    from = log.segments[0]!.base;
  }
  let position = from;
  while (index < log.segments.length) {
    const segment = log.segments[index]!;
    const dataEnd = segment.base + (await log.fileSize(segment));
    const segmentEnd = log.segmentEnd(index, dataEnd - segment.base);
    const isLast = index === log.segments.length - 1;
    const window = new Window(log, dataEnd);
    let problem: string | undefined;
    for (;;) {
      if (segmentEnd - position < RECORD_HEADER_SIZE) break; // spent segment: the log continues at the next base
      if (position >= dataEnd) {
        if (isLast) return { end: position, corrupt };
        problem = 'missing bytes before the next segment';
        break;
      }
      let at = await window.ensure(position, RECORD_HEADER_SIZE);
      const claimed = window.buf.length - at >= 4 ? window.buf.readUInt32BE(at) : 0;
      if (claimed > RECORD_HEADER_SIZE && claimed <= segmentEnd - position) at = await window.ensure(position, claimed);
      const checked = validAt(window.buf, at, window.end - position, position);
      if (typeof checked === 'string') {
        problem = checked;
        break;
      }
      visit(window.buf, at, checked);
      position += checked.totalLength;
      if (checked.type === RecordType.SEGMENT_END) break;
    }
    if (problem === undefined) {
      // Zero-filled space left past a segment's data by a crash before the appender cut it.
      if (await log.cutFile(index, position)) logger.info({ segment: segment.path, offset: position }, 'cut the unused tail of a spent segment');
      index++;
      position = segmentEnd;
      continue;
    }
    // Zeros past what the checkpoint vouches for are preallocated space; below it they replaced fsynced records
    // (a disk that lost blocks), which must be reported like any other damage, never taken as the end.
    if (isLast && position >= noTruncateBelow && (await writtenEnd(log, position, dataEnd)) === position) return { end: position, corrupt };
    const next = await findNextValid(log, index, position + 1);
    if (next === undefined) {
      if (position >= noTruncateBelow) {
        const cutBytes = (await tornEnd(log, position)) - position;
        logger.warn({ offset: position, bytes: cutBytes, segment: segment.path, problem }, 'cut a torn tail off the commit log');
        await log.truncate(position);
        return { end: position, corrupt };
      }
      // Fsynced bytes are never cut; report them and continue in a fresh segment.
      const end = Math.max(await writtenEnd(log, position, dataEnd), Math.min(noTruncateBelow, segmentEnd));
      reportCorrupt(logger, corrupt, segment.path, position, end, problem);
      if (!isLast) {
        // Later segments exist but hold nothing valid; they are after fsynced data, so cut them.
        await log.truncate(log.segments[index + 1]!.base);
      }
      return { end: segmentEnd, corrupt };
    }
    reportCorrupt(logger, corrupt, segment.path, position, Math.min(next, segmentEnd), problem);
    position = next;
    index = log.segmentIndexFor(next);
  }
  return { end: position, corrupt };
}

function reportCorrupt(logger: Logger, corrupt: CorruptRange[], path: string, start: number, end: number, problem: string): void {
  const reason = `corrupt bytes [${start}, ${end}) in segment ${path} (${problem}); the range is refused; restore it from a replica`;
  logger.error({ start, end, segment: path, problem }, reason);
  corrupt.push({ start, end, reason });
}

/** The first position at or after `from` (in this or a later segment) holding a fully valid record. */
async function findNextValid(log: CommitLog, index: number, from: number): Promise<number | undefined> {
  for (let i = index; i < log.segments.length; i++) {
    const segment = log.segments[i]!;
    const dataEnd = segment.base + (await log.fileSize(segment));
    let position = i === index ? from : segment.base;
    while (position + RECORD_HEADER_SIZE <= dataEnd) {
      const chunk = await log.read(position, Math.min(RESYNC_WINDOW_BYTES, dataEnd - position));
      const last = chunk.length - RECORD_HEADER_SIZE;
      if (last >= 0 && nonZeroEnd(chunk) === 0) {
        // Preallocated space: no record starts in it. The header-sized overlap with the next chunk is kept.
        position += last + 1;
        continue;
      }
      for (let at = 0; at <= last; at++) {
        // Cheap test first: a record names its own position.
        if (readU64(chunk, at + 12) !== position + at) continue;
        const claimed = chunk.readUInt32BE(at);
        if (claimed < RECORD_HEADER_SIZE || position + at + claimed > dataEnd) continue;
        const record = at + claimed <= chunk.length ? chunk.subarray(at, at + claimed) : await log.read(position + at, claimed);
        if (typeof validAt(record, 0, record.length, position + at) !== 'string') return position + at;
      }
      if (last < 0) break;
      position += last + 1;
    }
  }
  return undefined;
}

/**
 * Where the torn tail starting at `position` ends: after the last byte that is not zero, or after the torn
 * record's own claimed length when its header is readable (its zero bytes are its own), whichever is further,
 * within the files. Zero-filled space past it is not counted as cut.
 */
async function tornEnd(log: CommitLog, position: number): Promise<number> {
  const last = log.segments[log.segments.length - 1]!;
  const fileEnd = last.base + (await log.fileSize(last));
  let end = await writtenEnd(log, Math.max(position, last.base), fileEnd);
  const head = await log.read(position, RECORD_HEADER_SIZE);
  // Only the header is read: `available` lets the parser accept a record longer than it.
  const header = head.length === RECORD_HEADER_SIZE ? readRecordHeader(head, 0, Number.MAX_SAFE_INTEGER) : 'short';
  if (typeof header !== 'string') {
    const segment = log.segments[log.segmentIndexFor(position)]!;
    end = Math.max(end, Math.min(position + header.totalLength, segment.base + (await log.fileSize(segment))));
  }
  return end;
}

/**
 * Where the bytes of one segment's file that are not zero end, looking at [from, to): `from` when they are all
 * zero (zero-filled space holds no record). Reads backwards, so a long zero tail costs reads, not a byte loop.
 */
async function writtenEnd(log: CommitLog, from: number, to: number): Promise<number> {
  let end = to;
  while (end > from) {
    const start = Math.max(from, end - WINDOW_BYTES);
    const chunk = await log.read(start, end - start);
    const chunkEnd = nonZeroEnd(chunk);
    if (chunkEnd > 0) return start + chunkEnd;
    end = start;
  }
  return from;
}
