import { parseArgs } from 'node:util';
import { Admin } from '@roomq/client';
import { makeOutput, table } from '../output.js';
import { routerList, routerOption } from '../routers.js';
import { UsageError } from '../usage-error.js';

export const clusterUsage = 'roomq cluster status [--router ADDR] [--json]';

/** `roomq cluster status`: the routers' view of every broker. */
export async function clusterCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, options: { ...routerOption, json: { type: 'boolean', default: false } }, allowPositionals: true, strict: true });
  if (positionals[0] !== 'status') throw new UsageError('use: roomq cluster status');
  const out = makeOutput(values.json ?? false);
  const admin = new Admin({ router: routerList(values.router)[0]! });
  try {
    const status = await admin.clusterStatus();
    out.result(status, () =>
      [
        `router ${status.routerName} (room ${status.room}); ${status.topicCount} topics; control store ${status.controlStore}: ${status.controlStoreHealth}`,
        '',
        table(['router', 'room', 'endpoint', 'alive'], status.routers.map((r) => [r.name, r.room, r.endpoint, r.alive ? 'yes' : 'NO'])),
        '',
        table(
          ['broker', 'room', 'role', 'status', 'alive', 'writable', 'endpoint', 'log end', 'flushed', 'flush'],
          status.brokers.map((b) => [b.name, b.room, b.role, b.status + (b.statusReason ? ` (${b.statusReason})` : ''), b.alive ? 'yes' : 'NO', b.writable ? 'yes' : 'no', b.endpoint, b.logEndOffset ?? 0, b.flushedOffset ?? 0, b.flushMode ?? '']),
        ),
        ...replicationLines(status.brokers),
        ...corruptionLines(status.brokers),
      ].join('\n'),
    );
  } finally {
    admin.close();
  }
}

/** Corrupt log ranges get their own lines: an operator must restore them, and must not miss them. */
function corruptionLines(brokers: Array<{ name: string; corruptRanges: Array<{ start: number; end: number; reason: string }> }>): string[] {
  const lines: string[] = [];
  for (const broker of brokers) {
    for (const range of broker.corruptRanges) lines.push(`CORRUPT ${broker.name}: log bytes [${range.start}, ${range.end}) are refused: ${range.reason}`);
  }
  return lines.length > 0 ? ['', ...lines] : [];
}

/** Each master's view of its chain: how far every member holds the log and how far behind it is. */
function replicationLines(brokers: Array<{ name: string; role: string; replicationMode: string; replication: Array<{ member: string; room: string; durableOffset: number; lagBytes: number; lagMs: number; status: string }> }>): string[] {
  const rows: Array<Array<string | number>> = [];
  for (const broker of brokers) {
    if (broker.role !== 'master') continue;
    for (const r of broker.replication) rows.push([broker.name, broker.replicationMode, r.member, r.room, r.status, r.durableOffset, r.lagBytes, r.lagMs]);
  }
  return rows.length === 0 ? [] : ['', table(['master', 'mode', 'replica', 'room', 'status', 'durable', 'lag bytes', 'lag ms'], rows)];
}
