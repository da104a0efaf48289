/**
 * The replicator's only view of storage: read log bytes from an offset, append verified bytes at an offset,
 * truncate to an offset. The broker's MessageStore implements it; tests use an in-memory log.
 *
 * Offsets are physical offsets of the log (byte positions). Records keep their offsets on every member, so a
 * message has the same queue offset, ID and checksum in every room.
 */
export interface ReplicaLog {
  /** Where the next record will be written (exclusive end of what is written). */
  logEndOffset(): number;
  /** Log bytes before this are durable under the member's flush mode (fdatasynced in sync mode). */
  durableOffset(): number;
  /** Segment size; every member of a group must use the same, so records land at the same offsets. */
  segmentSizeBytes(): number;
  /**
   * Whole records starting at `from` (which must be a record boundary at or before the durable offset),
   * at most `maxBytes` unless the first record alone is bigger; only durable bytes are returned, so a
   * replica never holds what its upstream could lose in a crash. Empty when nothing durable lies past `from`.
   * Records cross no segment boundary in one answer: a SEGMENT_END record ends the answer. The answer is read
   * into the start of `into` when it fits (a reader that reuses its buffers), else into a buffer of its own.
   */
  readLog(from: number, maxBytes: number, into?: Buffer): Promise<Buffer>;
  /** Resolves once durableOffset() > `after`; rejects with ABORTED when `signal` aborts. */
  waitForDurable(after: number, signal: AbortSignal): Promise<void>;
  /**
   * Appends records received from the upstream at exactly `at`, which must equal logEndOffset(). Every record
   * is checked (magic, CRC, its physical offset field equals where it lands); a bad one rejects the whole call
   * with MESSAGE_CORRUPTED and writes nothing. Resolves when the records are durable under the flush mode;
   * their messages then become readable at their queue offsets. `records` may be written from in place, so
   * the caller must not change it once handed over; once the call resolves the log holds no view of it, and the
   * caller may reuse its memory (the follower gathers chunks in a ReceiveArena).
   */
  appendReplicated(at: number, records: Buffer): Promise<void>;
  /**
   * Cuts the log back to `offset` (a record boundary), with every derived entry past it; used when a member
   * rejoins after a promotion. Returns the bytes removed so the caller can keep them aside (quarantine).
   */
  truncate(offset: number): Promise<Buffer>;
  /** Start offset and CRC of the last record, or undefined when the log is empty: the resume handshake. */
  lastRecord(): Promise<{ offset: number; crc: number } | undefined>;
  /** CRC of the record starting at `offset`, or undefined when no record starts there. */
  recordCrcAt(offset: number): Promise<number | undefined>;
  /**
   * Where each group epoch starts in this log, ascending by epoch; epoch 1 starts at 0 (see the broker's
   * epoch-marker.ts). A member rejoining after a promotion is cut back to where its last epoch ends here.
   */
  epochHistory(): Array<{ epoch: number; startOffset: number }>;
}
