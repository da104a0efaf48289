import { table } from '../output.js';
import type { FailbackSummary } from './cut-modes.js';
import type { UnexpectedExit } from './drill-cluster.js';
import type { GroupLogs } from './log-identity.js';
import type { OffsetRegression } from './offset-watch.js';
import type { ErrorWindow, IsolatedAcks } from './rto.js';

/** An acknowledged key the report names: where it was acknowledged, and when (drill clock). */
export interface KeyDetail {
  key: string;
  brokerName: string;
  topic: string;
  /** `group/queueId` and the queue offset the receipt gave. */
  queue: string;
  queueOffset: number;
  ackedAtMs: number;
  /** The group's highest committed offset seen on that queue: above queueOffset means it was skipped. */
  committedOffset: number | undefined;
}

/** One pass/fail judgement of the drill, with the figure behind it. */
export interface DrillCheck {
  name: string;
  ok: boolean;
  detail: string;
}

/** What `roomq drill --json` prints on its last line. Times in ms on the drill's clock unless named otherwise. */
export interface DrillReport {
  mode: string;
  /** The room cut. */
  room: string;
  survivingRoom: string;
  replication: string;
  /** Brokers' write lease as configured by --lease-ms; undefined: the brokers' default. */
  leaseMs: number | undefined;
  ratePerSec: number;
  warmupS: number;
  cutS: number;
  /** The drill's topics: an active-active one, and one homed in the cut room (its producers must all move). */
  topics: Array<{ name: string; mode: string; consumerGroup: string }>;
  /** Where the cluster's data, configs and logs are (kept with --keep), else undefined. */
  dataDir: string | undefined;
  /** Every check passed. */
  ok: boolean;
  checks: DrillCheck[];

  produced: Record<string, { sent: number; acknowledged: number; failed: number }>;
  acknowledged: number;
  /** Acknowledged keys that no member holds, in its log or in quarantine (RPO by key). */
  lostAcknowledged: number;
  lostDetails: KeyDetail[];
  /** Acknowledged keys no longer in the logs but kept in a quarantine (cut on rejoin, replayable). */
  quarantinedAcknowledged: number;
  /** Acknowledged keys still in the members' logs that no consumer received before the drain timed out. */
  undeliveredAcknowledged: number;
  undeliveredDetails: KeyDetail[];
  quarantined: { records: number; bytes: number; byBroker: Record<string, { records: number; bytes: number }> };
  deliveries: number;
  /**
   * Keys consumers received that no member's log holds after the restore: records served before they were
   * safe under the replication mode, then cut on rejoin. A consumer that committed past them may have skipped
   * the records the new epoch wrote at the same queue offsets.
   */
  deliveredNotKept: number;
  deliveredNotKeptKeys: string[];
  duplicatesDelivered: number;
  bodiesMismatched: number;
  offsetsBackwards: number;
  offsetRegressions: OffsetRegression[];
  offsetReads: number;

  /** The surviving room's producer error window: the recovery time objective as measured. */
  rtoMs: number;
  survivingRoomRtoMs: number;
  cutRoomRtoMs: number;
  errorWindows: Record<string, ErrorWindow>;
  /** How long after the cut the cut room's brokers still acknowledged writes. */
  isolatedAckMs: number;
  isolatedAcks: IsolatedAcks;

  /** When the room was taken away, and how long the cut command took. */
  cutAtMs: number;
  cutCommandMs: number | undefined;
  /** From the start of the restore until every group of the room led from there again; absent when it failed. */
  catchUpMs: number | undefined;
  /** Bringing the room back before the restore command: restarting its processes, or reopening its links. */
  reconnectMs: number | undefined;
  /** Restore command alone (after the room was back). */
  restoreCommandMs: number | undefined;
  failbacks: FailbackSummary[];
  /** From stopping the producers until every acknowledged key arrived (or was found quarantined), or the drain gave up. */
  drainMs: number;
  drained: boolean;

  logsIdentical: boolean;
  logs: GroupLogs[];
  /** Members still behind (or not alive) when the logs were compared; empty when replication was idle. */
  replicationLag: string[];
  rolesNormal: boolean;
  roleProblems: string[];
  consumersInRooms: boolean;
  consumerProblems: string[];
  /** Why the restore or a failback failed; undefined when they completed. */
  restoreError: string | undefined;
  /** Servers that ended without the drill stopping them. */
  unexpectedExits: UnexpectedExit[];
  durationMs: number;
}

/** The human report: a verdict line, the figures, and what failed. */
export function humanReport(r: DrillReport): string {
  const figures: Array<[string, string]> = [
    ['acknowledged', `${r.acknowledged} (${Object.entries(r.produced).map(([room, p]) => `${room} ${p.acknowledged}/${p.sent}`).join(', ')})`],
    ['lost acknowledged (RPO)', String(r.lostAcknowledged)],
    ['quarantined', `${r.quarantined.records} records, ${r.quarantined.bytes} bytes (${r.quarantinedAcknowledged} acknowledged keys)`],
    ['stored, never delivered', String(r.undeliveredAcknowledged)],
    ['duplicates delivered', `${r.duplicatesDelivered} of ${r.deliveries} deliveries`],
    ['bodies mismatched', String(r.bodiesMismatched)],
    ['delivered, not kept', String(r.deliveredNotKept)],
    ['offsets backwards', `${r.offsetsBackwards} (${r.offsetReads} reads)`],
    ['RTO (surviving room)', `${r.rtoMs} ms`],
    ...Object.values(r.errorWindows).map((w): [string, string] => [
      `  producer in ${w.room}${w.room === r.room ? ' (cut)' : ''}`,
      `${w.windowMs} ms window, ${w.failedAfterCut} failed, ${w.slowAfterCut} slow, max ack ${w.maxLatencyMs} ms${Object.keys(w.errorCodes).length > 0 ? ` (${Object.entries(w.errorCodes).map(([c, n]) => `${c} ${n}`).join(', ')})` : ''}`,
    ]),
    [`${r.room} kept acking after cut`, `${r.isolatedAckMs} ms (${r.isolatedAcks.count} acks)${r.leaseMs === undefined ? '' : `; lease ${r.leaseMs} ms`}`],
    ['cut command', r.cutCommandMs === undefined ? '-' : `${r.cutCommandMs} ms`],
    ['catch-up + failback', r.catchUpMs === undefined ? 'FAILED (see below)' : `${r.catchUpMs} ms (room back ${r.reconnectMs} ms, restore ${r.restoreCommandMs} ms${r.failbacks.map((f) => `, failback ${f.group} ${f.tookMs} ms`).join('')})`],
    ['drain', `${r.drainMs} ms${r.drained ? '' : ' (gave up)'}`],
    ['member logs identical', r.logsIdentical ? 'yes' : `NO (${[...r.logs.filter((g) => !g.identical).map((g) => `${g.group} differs`), ...(r.replicationLag.length > 0 ? ['replication not idle'] : [])].join(', ')})`],
    ['roles back to normal', r.rolesNormal ? 'yes' : `NO (${r.roleProblems.join('; ')})`],
    ['consumers in their rooms', r.consumersInRooms ? 'yes' : `NO (${r.consumerProblems.join('; ')})`],
  ];
  const lines = [
    `roomq drill --mode ${r.mode}: room ${r.room} cut for ${r.cutS} s under ${r.ratePerSec} msg/s per room, ${r.replication}: ${r.ok ? 'PASSED' : 'FAILED'}`,
    '',
    table(['', ''], figures.map(([k, v]) => [k, v])).split('\n').slice(1).join('\n'),
  ];
  const failed = r.checks.filter((c) => !c.ok);
  if (failed.length > 0) lines.push('', 'failed checks:', ...failed.map((c) => `  ${c.name}: ${c.detail}`));
  if (r.restoreError) lines.push('', `restore failed: ${r.restoreError}`);
  for (const e of r.unexpectedExits) lines.push(`${e.name} (pid ${e.pid}) exited unexpectedly (${e.signal ?? `code ${e.code}`}); see ${e.log}`);
  if (r.lostDetails.length > 0) lines.push('', `lost keys (first ${r.lostDetails.length}): ${r.lostDetails.map(describeKey).join(' ')}`);
  if (r.undeliveredDetails.length > 0) lines.push('', `stored but never delivered (first ${r.undeliveredDetails.length}): ${r.undeliveredDetails.map(describeKey).join(' ')}`);
  for (const g of r.offsetRegressions.slice(0, 5)) lines.push(`offset went back: ${g.topic} ${g.group}/${g.queueId} at ${g.broker} ${g.offset} < ${g.highest} (seen at ${g.highestFrom}) at ${g.atMs} ms`);
  if (r.deliveredNotKeptKeys.length > 0) lines.push('', `delivered but not kept by the group (first ${r.deliveredNotKeptKeys.length}): ${r.deliveredNotKeptKeys.join(' ')}`);
  if (r.dataDir) lines.push('', `cluster data, configs and logs kept in ${r.dataDir}`);
  return lines.join('\n');
}

function describeKey(k: KeyDetail): string {
  const skipped = k.committedOffset !== undefined && k.committedOffset > k.queueOffset ? `, committed ${k.committedOffset}: skipped` : '';
  return `${k.key} (acked by ${k.brokerName} at ${(k.ackedAtMs / 1000).toFixed(1)} s, ${k.topic} ${k.queue}@${k.queueOffset}${skipped})`;
}
