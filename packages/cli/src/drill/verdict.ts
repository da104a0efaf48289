import type { DrillCheck, DrillReport } from './report.js';

/** What roomq promises for a room cut: producers work again within 3 s (docs/design.md, issue 5). */
export const RTO_TARGET_MS = 3_000;
/**
 * Slack on top of the write lease for "the isolated room stopped acknowledging within the lease": the lease
 * runs from the last router reply the broker got (up to a heartbeat before the partition), and an
 * acknowledgement reaches the client a moment after the broker gave it.
 */
export const LEASE_SLACK_MS = 1_000;

/** The drill's judgement: what a user of a two-room cluster would notice, each as a check with its figure. */
export function judge(r: DrillReport): DrillCheck[] {
  const checks: DrillCheck[] = [
    { name: 'restore and failback completed', ok: r.restoreError === undefined, detail: r.restoreError ?? '' },
    { name: 'no server crashed', ok: r.unexpectedExits.length === 0, detail: r.unexpectedExits.map((e) => `${e.name} (${e.signal ?? `code ${e.code}`}, ${e.log})`).join('; ') },
    { name: 'no acknowledged message lost', ok: r.lostAcknowledged === 0, detail: `${r.lostAcknowledged} acknowledged keys are in no member's log or quarantine${r.quarantinedAcknowledged > 0 ? ` (${r.quarantinedAcknowledged} more are only in quarantine)` : ''}` },
    { name: 'offsets never went backwards', ok: r.offsetsBackwards === 0, detail: `${r.offsetsBackwards} committed offsets lower than one read before` },
    { name: 'bodies intact', ok: r.bodiesMismatched === 0, detail: `${r.bodiesMismatched} delivered bodies do not match their key` },
    { name: 'every stored acknowledged key delivered', ok: r.undeliveredAcknowledged === 0, detail: `${r.undeliveredAcknowledged} acknowledged keys are in the logs but no consumer received them within ${r.drainMs} ms` },
    {
      name: 'member logs identical',
      ok: r.logsIdentical,
      detail: [
        ...r.logs.filter((g) => !g.identical).map((g) => `${g.group}: ${g.members.map((m) => `${m.member} ${m.sizeBytes} B ${m.sha256.slice(0, 12)}`).join(', ')}`),
        ...(r.replicationLag.length > 0 ? [`replication did not go idle: ${r.replicationLag.join(', ')}`] : []),
      ].join('; '),
    },
    { name: 'roles back to normal', ok: r.rolesNormal, detail: r.roleProblems.join('; ') },
    { name: 'consumers back in their rooms', ok: r.consumersInRooms, detail: r.consumerProblems.join('; ') },
  ];
  // Under async replication a cut room's own acknowledgements may be cut (the documented loss window), and its
  // consumers may have read them; under sync:N readers must only ever see what the group keeps.
  if (r.replication.startsWith('sync:')) {
    checks.push({ name: 'consumers only saw what the group kept', ok: r.deliveredNotKept === 0, detail: `${r.deliveredNotKept} delivered keys are in no member's log (${r.deliveredNotKeptKeys.slice(0, 5).join(' ')})` });
  }
  if (r.mode !== 'none') {
    checks.push({ name: `${r.survivingRoom}'s producer recovered within ${RTO_TARGET_MS} ms`, ok: r.rtoMs < RTO_TARGET_MS, detail: `error window ${r.rtoMs} ms` });
  }
  // Clients of a partitioned room reach only their own room: they cannot move, so only cuts they can see count.
  if (r.mode === 'clean' || r.mode === 'kill') {
    checks.push({ name: `${r.room}'s producer moved within ${RTO_TARGET_MS} ms`, ok: r.cutRoomRtoMs < RTO_TARGET_MS, detail: `error window ${r.cutRoomRtoMs} ms` });
  }
  if (r.mode === 'partition' && r.leaseMs !== undefined) {
    checks.push({
      name: 'isolated room stopped acknowledging within the lease',
      ok: r.isolatedAckMs <= r.leaseMs + LEASE_SLACK_MS,
      detail: `last acknowledgement from ${r.room} ${r.isolatedAckMs} ms after the partition; lease ${r.leaseMs} ms`,
    });
  }
  return checks;
}
