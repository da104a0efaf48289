import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { BrokerState, BrokerView } from '../src/broker-state.js';

/** A pino logger whose JSON lines the test can read. */
export function captureLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

/**
 * A ready broker's state. Group, member id, room and role follow from an instance name like `broker-a/1@dc2`
 * (member 0 is the master); anything else comes from `overrides`.
 */
export function brokerState(name = 'broker-a/0@dc1', overrides: Partial<BrokerState> = {}): BrokerState {
  const [group, rest] = name.split('/') as [string, string];
  const [id, room] = rest.split('@') as [string, string];
  const memberId = Number(id);
  return {
    name,
    group,
    memberId,
    room,
    role: memberId === 0 ? 'master' : 'slave',
    endpoint: `10.0.0.${memberId + 1}:10911`,
    status: 'ready',
    statusReason: '',
    writable: memberId === 0,
    topics: [],
    logEndOffset: 0,
    flushedOffset: 0,
    startedAtMs: 0,
    pid: 0,
    flushMode: 'async',
    corruptRanges: [],
    replicationMode: 'async',
    upstream: '',
    replication: [],
    epoch: 1,
    configuredRole: memberId === 0 ? 'master' : 'slave',
    fence: memberId === 0 ? '' : 'not-leader',
    fenceReason: '',
    quarantinedBytes: 0,
    quarantinedRecords: 0,
    ...overrides,
  };
}

/** A broker as the registry holds it, alive unless told otherwise. */
export function brokerView(name: string, overrides: Partial<BrokerState> = {}, alive = true): BrokerView {
  return { state: brokerState(name, overrides), firstSeenMs: 0, lastHeartbeatMs: 0, alive };
}
