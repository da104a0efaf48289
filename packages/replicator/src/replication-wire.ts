import type { WireStatus } from '@roomq/protocol';
import type { MemberProgress } from './member-progress.js';
import type { OffsetCommit } from './offset-commit.js';

/**
 * The roomq.v1 replication messages (proto/roomq/v1/replication.proto) as proto-loader hands them over:
 * snake_case fields, int64 as numbers, a oneof named by `kind`, and (defaults off) zero values absent, so
 * every numeric read goes through `num()`. Conversion to the package's camelCase types happens only here.
 */

export interface WireReplicaHello {
  group?: string;
  member?: string;
  log_end_offset?: number;
  last_record_offset?: number;
  last_record_crc?: number;
  segment_size_bytes?: number;
  last_epoch?: number;
}

export interface WireMemberProgress {
  member?: string;
  room?: string;
  durable_offset?: number;
  log_end_offset?: number;
  reported_at_ms?: number;
}

export interface WireOffsetCommit {
  group?: string;
  topic?: string;
  queue_id?: number;
  offset?: number;
}

export interface WireReplicaMessage {
  kind?: 'hello' | 'progress';
  hello?: WireReplicaHello | null;
  progress?: { members?: WireMemberProgress[] | null; offsets?: WireOffsetCommit[] | null } | null;
}

export interface WireLogChunk {
  offset?: number;
  records?: Buffer;
  upstream_end_offset?: number;
  master_time_ms?: number;
}

export interface WireTruncate {
  offset?: number;
  epoch?: number;
  leader?: string;
  reason?: string;
}

export interface WireUpstreamMessage {
  kind?: 'chunk' | 'refusal' | 'truncate';
  chunk?: WireLogChunk | null;
  refusal?: { code?: number; message?: string } | null;
  truncate?: WireTruncate | null;
}

/** The upstream's instruction to cut the replica's log back before it may continue. */
export interface TruncateOrder {
  offset: number;
  /** The upstream's epoch. */
  epoch: number;
  leader: string;
  reason: string;
}

/** The hello as the upstream checks it. */
export interface ReplicaHello {
  group: string;
  member: string;
  logEndOffset: number;
  /** -1 when the replica's log is empty. */
  lastRecordOffset: number;
  lastRecordCrc: number;
  segmentSizeBytes: number;
  /** The newest epoch in the replica's log (1 before any promotion). */
  lastEpoch: number;
}

export interface LogChunk {
  offset: number;
  records: Buffer;
  upstreamEndOffset: number;
  masterTimeMs: number;
}

const num = (value: number | string | null | undefined): number => (value === undefined || value === null ? 0 : Number(value));

export function helloToWire(hello: ReplicaHello): WireReplicaMessage {
  return {
    hello: {
      group: hello.group,
      member: hello.member,
      log_end_offset: hello.logEndOffset,
      last_record_offset: hello.lastRecordOffset,
      last_record_crc: hello.lastRecordCrc,
      segment_size_bytes: hello.segmentSizeBytes,
      last_epoch: hello.lastEpoch,
    },
  };
}

export function helloFromWire(wire: WireReplicaHello): ReplicaHello {
  return {
    group: wire.group ?? '',
    member: wire.member ?? '',
    logEndOffset: num(wire.log_end_offset),
    lastRecordOffset: num(wire.last_record_offset),
    lastRecordCrc: num(wire.last_record_crc),
    segmentSizeBytes: num(wire.segment_size_bytes),
    // Absent (zero) from a replica that predates epochs: it has never seen a promotion.
    lastEpoch: Math.max(1, num(wire.last_epoch)),
  };
}

export function progressToWire(members: readonly MemberProgress[], offsets: readonly OffsetCommit[] = []): WireReplicaMessage {
  return {
    progress: {
      members: members.map((m) => ({
        member: m.member,
        room: m.room,
        durable_offset: m.durableOffset,
        log_end_offset: m.logEndOffset,
        reported_at_ms: m.reportedAtMs,
      })),
      offsets: offsets.map((o) => ({ group: o.group, topic: o.topic, queue_id: o.queueId, offset: o.offset })),
    },
  };
}

/** Forwarded offsets of a progress report; entries without a group or topic are dropped. */
export function offsetsFromWire(offsets: readonly WireOffsetCommit[] | null | undefined): OffsetCommit[] {
  const out: OffsetCommit[] = [];
  for (const o of offsets ?? []) {
    if (!o.group || !o.topic) continue;
    out.push({ group: o.group, topic: o.topic, queueId: num(o.queue_id), offset: num(o.offset) });
  }
  return out;
}

export function progressFromWire(members: readonly WireMemberProgress[] | null | undefined): MemberProgress[] {
  return (members ?? []).map((m) => ({
    member: m.member ?? '',
    room: m.room ?? '',
    durableOffset: num(m.durable_offset),
    logEndOffset: num(m.log_end_offset),
    reportedAtMs: num(m.reported_at_ms),
  }));
}

export function chunkToWire(chunk: LogChunk): WireUpstreamMessage {
  return {
    chunk: {
      offset: chunk.offset,
      records: chunk.records,
      upstream_end_offset: chunk.upstreamEndOffset,
      master_time_ms: chunk.masterTimeMs,
    },
  };
}

export function chunkFromWire(wire: WireLogChunk): LogChunk {
  return {
    offset: num(wire.offset),
    records: wire.records ?? Buffer.alloc(0),
    upstreamEndOffset: num(wire.upstream_end_offset),
    masterTimeMs: num(wire.master_time_ms),
  };
}

export function truncateToWire(order: TruncateOrder): WireUpstreamMessage {
  return { truncate: { offset: order.offset, epoch: order.epoch, leader: order.leader, reason: order.reason } };
}

export function truncateFromWire(wire: WireTruncate): TruncateOrder {
  return { offset: num(wire.offset), epoch: num(wire.epoch), leader: wire.leader ?? '', reason: wire.reason ?? '' };
}

export function refusalToWire(status: WireStatus): WireUpstreamMessage {
  return { refusal: { code: status.code, message: status.message } };
}
