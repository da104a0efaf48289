import { RECORD_HEADER_SIZE } from '@roomq/protocol';
import type { ReplicaLog } from './replica-log.js';

/**
 * Where the next record of a log goes, given where its bytes end. A record never spans segments: when the
 * next record does not fit, the writer closes the segment with a SEGMENT_END record (if at least its 28
 * bytes fit) or leaves a gap of fewer than 28 bytes, and the log continues at the next segment's base. So
 * the end of the written bytes is not always where the next record starts; both sides of a replication
 * stream resume from the position this returns, whichever of the two a ReplicaLog reports as its end.
 *
 * `lastRecordOffset` is the start of the record ending at `end` (-1 when there is none). A record exactly
 * 28 bytes long is a SEGMENT_END: every other record type is longer (a message at least 40 bytes, an
 * offset commit at least 44). Segments start at multiples of `segmentSizeBytes`.
 */
export function nextRecordOffset(end: number, lastRecordOffset: number, segmentSizeBytes: number): number {
  const into = end % segmentSizeBytes;
  if (into === 0) return end;
  const closedByRecord = lastRecordOffset >= 0 && end - lastRecordOffset === RECORD_HEADER_SIZE;
  const closedByGap = segmentSizeBytes - into < RECORD_HEADER_SIZE;
  return closedByRecord || closedByGap ? end - into + segmentSizeBytes : end;
}

/** Where `log`'s next record goes: the offset a replica asks its upstream to stream from. */
export async function resumeOffset(log: ReplicaLog): Promise<{ offset: number; lastRecord: { offset: number; crc: number } | undefined }> {
  // lastRecord first: a record appended in between only moves the end further past it, never makes it look
  // like a 28-byte SEGMENT_END.
  const lastRecord = await log.lastRecord();
  const end = log.logEndOffset();
  return { offset: nextRecordOffset(end, lastRecord?.offset ?? -1, log.segmentSizeBytes()), lastRecord };
}
