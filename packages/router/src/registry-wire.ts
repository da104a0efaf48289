/**
 * Mapping between roomq.v1 registry/admin messages (proto-loader plain objects, snake_case, absent fields
 * undefined) and the router's own types. Requests are validated here so the logic only sees sound values.
 */
import {
  formatTopicMode,
  parseHostPort,
  RoomqError,
  V2_CODE,
  validateRoomName,
  type BrokerStateMsg,
  type BrokerViewMsg,
  type StatusMsg,
  type TopicConfigMsg,
} from '@roomq/protocol';
import type { BrokerState, BrokerView } from './broker-state.js';
import type { TopicConfig } from './control-store.js';

/** roomq.v1 Status carries the v2 code numbers as a plain int32. */
export function v1Ok(message = 'OK'): StatusMsg {
  return { code: V2_CODE.OK, message };
}

export function topicConfigToWire(topic: TopicConfig): TopicConfigMsg {
  return { name: topic.name, queues_per_broker: topic.queuesPerBroker, created_at_ms: topic.createdAtMs, mode: formatTopicMode(topic.mode), version: topic.version };
}

/** Validates a heartbeat's BrokerState; throws BAD_REQUEST naming the field. */
export function brokerStateFromWire(msg: Partial<BrokerStateMsg> | null | undefined): BrokerState {
  if (!msg) throw badField('state', 'is missing');
  const id = msg.identity;
  if (!id) throw badField('state.identity', 'is missing');
  const name = text(id.name);
  if (!name) throw badField('state.identity.name', 'is missing; use the instance name, e.g. broker-a/0@dc1');
  const group = text(id.group);
  if (!group) throw badField('state.identity.group', 'is missing', name);
  const room = text(id.room);
  try {
    validateRoomName(room);
  } catch (err) {
    throw badField('state.identity.room', (err as Error).message, name);
  }
  const role = text(id.role);
  if (role !== 'master' && role !== 'slave') throw badField('state.identity.role', `must be master or slave, got ${JSON.stringify(role)}`, name);
  const endpoint = text(id.endpoint);
  const hostPort = parseHostPort(endpoint);
  if (!hostPort || hostPort.port === 0) {
    throw badField('state.identity.endpoint', `must be the host:port clients connect to, got ${JSON.stringify(endpoint)}`, name);
  }
  const memberId = id.member_id ?? 0;
  if (!Number.isInteger(memberId) || memberId < 0) throw badField('state.identity.member_id', 'must be 0 or more', name);
  const status = text(msg.status);
  if (!status) throw badField('state.status', 'is missing; use starting, ready, failed or stopping', name);
  return {
    name,
    group,
    memberId,
    room,
    role,
    endpoint,
    status,
    statusReason: text(msg.status_reason),
    writable: msg.writable ?? false,
    topics: (msg.topics ?? []).map((t) => ({ topic: text(t.topic), queueCount: t.queue_count ?? 0, maxOffsetsTotal: t.max_offsets_total ?? 0 })),
    logEndOffset: msg.log_end_offset ?? 0,
    flushedOffset: msg.flushed_offset ?? 0,
    startedAtMs: msg.started_at_ms ?? 0,
    pid: msg.pid ?? 0,
    flushMode: text(msg.flush_mode),
    corruptRanges: (msg.corrupt_ranges ?? []).map((r) => ({ start: r.start ?? 0, end: r.end ?? 0, reason: text(r.reason) })),
    replicationMode: text(msg.replication_mode),
    upstream: text(msg.upstream),
    replication: (msg.replication ?? []).map((r) => ({
      member: text(r.member),
      room: text(r.room),
      durableOffset: r.durable_offset ?? 0,
      lagBytes: r.lag_bytes ?? 0,
      lagMs: r.lag_ms ?? 0,
      status: text(r.status),
      reason: text(r.reason),
    })),
    epoch: msg.epoch && msg.epoch > 0 ? msg.epoch : 1,
    // Brokers that predate acting roles report only `role`, which then is the configured one too.
    configuredRole: msg.configured_role === 'master' || msg.configured_role === 'slave' ? msg.configured_role : role,
    fence: text(msg.fence),
    fenceReason: text(msg.fence_reason),
    quarantinedBytes: msg.quarantined_bytes ?? 0,
    quarantinedRecords: msg.quarantined_records ?? 0,
  };
}

export function brokerStateToWire(state: BrokerState): BrokerStateMsg {
  return {
    identity: { name: state.name, group: state.group, member_id: state.memberId, room: state.room, role: state.role, endpoint: state.endpoint },
    status: state.status,
    status_reason: state.statusReason,
    topics: state.topics.map((t) => ({ topic: t.topic, queue_count: t.queueCount, max_offsets_total: t.maxOffsetsTotal })),
    log_end_offset: state.logEndOffset,
    flushed_offset: state.flushedOffset,
    started_at_ms: state.startedAtMs,
    pid: state.pid,
    writable: state.writable,
    flush_mode: state.flushMode,
    corrupt_ranges: state.corruptRanges,
    replication_mode: state.replicationMode,
    upstream: state.upstream,
    replication: state.replication.map((r) => ({ member: r.member, room: r.room, durable_offset: r.durableOffset, lag_bytes: r.lagBytes, lag_ms: r.lagMs, status: r.status, reason: r.reason })),
    epoch: state.epoch,
    configured_role: state.configuredRole,
    fence: state.fence,
    fence_reason: state.fenceReason,
    quarantined_bytes: state.quarantinedBytes,
    quarantined_records: state.quarantinedRecords,
  };
}

export function brokerViewToWire(view: BrokerView): BrokerViewMsg {
  return { state: brokerStateToWire(view.state), last_heartbeat_ms: view.lastHeartbeatMs, alive: view.alive };
}

function text(value: string | null | undefined): string {
  return typeof value === 'string' ? value : '';
}

function badField(field: string, problem: string, broker?: string): RoomqError {
  return new RoomqError('BAD_REQUEST', `broker heartbeat: ${field} ${problem}`, { details: broker ? { field, broker } : { field } });
}
