/** Human output of topic migrations, shared by `roomq topic` and `roomq migrate`. */
import type { MigrationStatus, TopicMigration } from '@roomq/client';
import { table } from '../output.js';

export function describeMigration(m: TopicMigration | undefined): string {
  if (!m) return 'no migration';
  const state = `${m.rollingBack ? 'rolling back, ' : ''}${m.phase}${m.paused ? ' (paused)' : ''}`;
  return `migration ${m.from} → ${m.to}: ${state}; admitted ${m.groups.join(', ') || 'none'}; producers moved: ${m.movedGroups.join(', ') || 'none'}; switch ${m.switchSeq}, version ${m.version}`;
}

export function describeStatus(s: MigrationStatus): string {
  const lines = [`topic ${s.topic}: mode ${s.mode}`, describeMigration(s.migration)];
  const m = s.migration;
  if (m && m.gates.length > 0) {
    lines.push('', 'order gates (consumers read the capped rooms only up to the caps until released):');
    lines.push(
      table(
        ['switch', 'capped rooms', 'barrier rooms', 'barrier', 'released'],
        m.gates.map((g) => [g.seq, g.cappedRooms.join(',') || '-', g.barrierRooms.join(',') || '-', g.barrier ? `${g.barrier.reduce((n, o) => n + o.offset, 0)} msgs` : 'waiting for producers', g.released.join(',') || '-']),
      ),
    );
  }
  lines.push('', `messages stored by room: ${Object.entries(s.storedByRoom).map(([r, n]) => `${r} ${n}`).join(', ') || 'none'}`);
  if (s.producers.length > 0) {
    lines.push('', 'producers:');
    lines.push(table(['client', 'room', 'group', 'route', 'settled switch'], s.producers.map((p) => [p.clientId, p.room, p.group || '(none)', p.onNewRoute ? 'new' : 'old', p.settled])));
  }
  if (s.consumerGroups.length > 0) {
    lines.push('', 'consumer groups:');
    const rooms = [...new Set(s.consumerGroups.flatMap((g) => Object.keys(g.backlogByRoom)))].sort();
    lines.push(
      table(
        ['group', 'rooms', 'admitted', 'held by switch', ...rooms.map((r) => `backlog ${r}`)],
        s.consumerGroups.map((g) => [g.group, g.rooms.join(','), g.admitted ? 'yes' : 'no', g.heldBy.join(',') || '-', ...rooms.map((r) => g.backlogByRoom[r] ?? 0)]),
      ),
    );
  }
  lines.push('', `still on the old route: producer groups ${s.oldRoute.producerGroups.join(', ') || 'none'}; consumer groups ${s.oldRoute.consumerGroups.join(', ') || 'none'}`);
  lines.push(`waiting for: ${s.waitingFor}`);
  return lines.join('\n');
}
