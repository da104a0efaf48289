import { parseArgs } from 'node:util';
import { Admin, replicationTrouble, type BrokerStatus, type RoomListing } from '@roomq/client';
import { makeOutput, table } from '../output.js';
import { routerList, routerOption } from '../routers.js';
import { UsageError } from '../usage-error.js';
import { groupsTable, roomsTable } from './room.js';

export const clusterUsage = 'roomq cluster status [--router ADDR] [--json]';

/** `roomq cluster status`: the routers' view of every broker. */
export async function clusterCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, options: { ...routerOption, json: { type: 'boolean', default: false } }, allowPositionals: true, strict: true });
  if (positionals[0] !== 'status') throw new UsageError('use: roomq cluster status');
  const out = makeOutput(values.json ?? false);
  const admin = new Admin({ router: routerList(values.router)[0]! });
  try {
    const status = await admin.clusterStatus();
    // Rooms and group leadership come from a second call; a router that predates them still shows the rest.
    const control: RoomListing | undefined = await admin.listRooms().catch(() => undefined);
    out.result({ ...status, ...(control ? { rooms: control.rooms, groups: control.groups } : {}) }, () =>
      [
        `router ${status.routerName} (room ${status.room}); ${status.topicCount} topics; control store ${status.controlStore}: ${status.controlStoreHealth}`,
        '',
        table(['router', 'room', 'endpoint', 'alive'], status.routers.map((r) => [r.name, r.room, r.endpoint, r.alive ? 'yes' : 'NO'])),
        '',
        ...(control ? [roomsTable(control), '', groupsTable(control), ''] : []),
        table(
          ['broker', 'room', 'role', 'epoch', 'status', 'alive', 'writable', 'fence', 'endpoint', 'log end', 'flushed', 'flush'],
          status.brokers.map((b) => [
            b.name,
            b.room,
            b.configuredRole && b.configuredRole !== b.role ? `${b.role} (configured ${b.configuredRole})` : b.role,
            b.epoch ?? '',
            b.status + (b.statusReason ? ` (${b.statusReason})` : ''),
            b.alive ? 'yes' : 'NO',
            b.writable ? 'yes' : 'no',
            b.fence ? `${b.fence}${b.fenceReason ? `: ${b.fenceReason}` : ''}` : '',
            b.endpoint,
            b.logEndOffset ?? 0,
            b.flushedOffset ?? 0,
            b.flushMode ?? '',
          ]),
        ),
        ...replicationLines(status.brokers),
        ...replicationTroubleLines(status.brokers),
        ...corruptionLines(status.brokers),
        ...quarantineLines(status.brokers),
      ].join('\n'),
    );
  } finally {
    admin.close();
  }
}

/** Members that cannot copy their upstream's log, and why (a diverged one stays behind until an operator acts). */
function replicationTroubleLines(brokers: BrokerStatus[]): string[] {
  const lines: string[] = [];
  for (const broker of brokers) {
    const trouble = replicationTrouble(broker);
    if (trouble) lines.push(`REPLICATION ${broker.name}: ${trouble}`);
  }
  return lines.length > 0 ? ['', ...lines] : [];
}

/** Corrupt log ranges get their own lines: an operator must restore them, and must not miss them. */
function corruptionLines(brokers: Array<{ name: string; corruptRanges: Array<{ start: number; end: number; reason: string }> }>): string[] {
  const lines: string[] = [];
  for (const broker of brokers) {
    for (const range of broker.corruptRanges) lines.push(`CORRUPT ${broker.name}: log bytes [${range.start}, ${range.end}) are refused: ${range.reason}`);
  }
  return lines.length > 0 ? ['', ...lines] : [];
}

/** Bytes a member cut on rejoin and kept aside: an operator must look at them (roomq quarantine). */
function quarantineLines(brokers: Array<{ name: string; quarantinedBytes: number; quarantinedRecords: number }>): string[] {
  const lines = brokers.filter((b) => b.quarantinedBytes > 0).map((b) => `QUARANTINED ${b.name}: ${b.quarantinedRecords} records, ${b.quarantinedBytes} bytes cut on rejoin and kept aside`);
  return lines.length > 0 ? ['', ...lines] : [];
}

/** Each master's view of its chain: how far every member holds the log and how far behind it is. */
function replicationLines(brokers: BrokerStatus[]): string[] {
  const rows: Array<Array<string | number>> = [];
  for (const broker of brokers) {
    if (broker.role !== 'master') continue;
    for (const r of broker.replication) rows.push([broker.name, broker.replicationMode, r.member, r.room, r.status, r.durableOffset, r.lagBytes, r.lagMs]);
  }
  return rows.length === 0 ? [] : ['', table(['master', 'mode', 'replica', 'room', 'status', 'durable', 'lag bytes', 'lag ms'], rows)];
}
