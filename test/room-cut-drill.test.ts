import { describe, expect, it } from 'vitest';
import { errorWindow, isolatedAcks } from '../packages/cli/dist/drill/rto.js';
import type { SendRecord } from '../packages/cli/dist/drill/load.js';
import { runCli, type CliResult } from './helpers/cli.js';

/**
 * `roomq drill` end to end: each drill starts its own two-room cluster (ports 0, a temp dir, a Redis key prefix
 * of its own), runs load in both rooms, cuts dc1, restores it and checks what a user would notice. Short
 * warmup and cut so both drills fit in about a minute on two cores.
 */

/**
 * Each drill: ~12 s to start six brokers and two routers, 3 s warmup, 5 s cut, a restart of the room's four
 * processes one after another (7 s on a quiet machine, 19 s beside two busy loops), failback, drain, checks.
 * The kill drill took 35 s alone and 46 s in a full `npm test`, and once over 100 s when the suite's other
 * files loaded both cores: generous, since a drill that hangs still fails here.
 */
const DRILL_TIMEOUT_MS = 180_000;
/** The drill process is given up on first, so a stuck drill fails with its progress lines, not a bare timeout. */
const DRILL_CLI_TIMEOUT_MS = DRILL_TIMEOUT_MS - 10_000;
/** The partition drill's write lease: short, so the isolated room must stop acknowledging well within the cut. */
const LEASE_MS = 2_000;

type Report = Record<string, any>;

function report(result: CliResult): Report {
  const last = result.json as Report | undefined;
  // On failure the whole output (progress, failed checks, kept data dir) is the best explanation.
  expect(last, `no JSON report on the last line:\n${result.stdout}\n${result.stderr}`).toBeDefined();
  expect(last!['error'], JSON.stringify(last!['error'])).toBeUndefined();
  return last!;
}

function explain(r: Report): string {
  const failed = r['checks']?.filter((c: { ok: boolean }) => !c.ok);
  return JSON.stringify({ failed, offsetRegressions: r['offsetRegressions'], lost: r['lostDetails'], undelivered: r['undeliveredDetails'], dataDir: r['dataDir'], unexpectedExits: r['unexpectedExits'] }, null, 2);
}

describe('roomq drill', () => {
  it('kill -9 of a whole room under sync:1: nothing acknowledged lost, offsets never back, producers recover in under 3 s, roles and logs restored', async () => {
    const result = await runCli(['drill', '--mode', 'kill', '--room', 'dc1', '--rate', '100', '--warmup-s', '3', '--cut-s', '5', '--replication', 'sync:1', '--json'], { timeoutMs: DRILL_CLI_TIMEOUT_MS });
    const r = report(result);
    const why = explain(r);
    expect(r['mode']).toBe('kill');
    expect(r['acknowledged'], why).toBeGreaterThan(0);
    expect(r['lostAcknowledged'], why).toBe(0);
    expect(r['offsetsBackwards'], why).toBe(0);
    expect(r['offsetReads'], why).toBeGreaterThan(0);
    expect(r['bodiesMismatched'], why).toBe(0);
    expect(r['rtoMs'], why).toBeLessThan(3000);
    // The killed room's producers (services that survived the room's brokers) move to the other room as fast.
    expect(r['cutRoomRtoMs'], why).toBeLessThan(3000);
    expect(r['logsIdentical'], why).toBe(true);
    expect(r['rolesNormal'], why).toBe(true);
    expect(r['consumersInRooms'], why).toBe(true);
    expect(r['unexpectedExits'], why).toEqual([]);
    // The progress lines before the report are JSON events too.
    const events = result.stdout.trim().split('\n').slice(0, -1).map((line) => JSON.parse(line) as { event: string });
    expect(events.map((e) => e.event)).toEqual(expect.arrayContaining(['cluster-ready', 'room-killed', 'room-cut', 'room-restarted', 'room-restored', 'failed-back']));
  }, DRILL_TIMEOUT_MS);

  it('partition of the room links (async): the isolated room stops acknowledging within the lease, nothing acknowledged lost (quarantine counted)', async () => {
    // async replication: the isolated room's masters can acknowledge on their own until the lease runs out (with
    // sync:1 their cross-room replica holds every acknowledgement back), so the lease and the quarantine are
    // what keep those writes from being lost or silently dropped.
    const result = await runCli(['drill', '--mode', 'partition', '--room', 'dc1', '--rate', '100', '--warmup-s', '3', '--cut-s', '5', '--replication', 'async', '--lease-ms', String(LEASE_MS), '--json'], { timeoutMs: DRILL_CLI_TIMEOUT_MS });
    const r = report(result);
    const why = explain(r);
    expect(r['mode']).toBe('partition');
    expect(r['leaseMs']).toBe(LEASE_MS);
    // The last acknowledgement from dc1 after the partition, on the client's clock: within the lease (plus the
    // heartbeat the lease was granted in and the reply's way back).
    expect(r['isolatedAckMs'], why).toBeLessThanOrEqual(LEASE_MS + 1000);
    expect(r['lostAcknowledged'], why).toBe(0);
    // Whatever dc1 took alone and cut on rejoin is counted, not dropped: every such key is in a quarantine.
    expect(r['quarantined']['records'], why).toBeGreaterThanOrEqual(r['quarantinedAcknowledged']);
    if (r['isolatedAcks']['count'] > 20) expect(r['quarantinedAcknowledged'], why).toBeGreaterThan(0);
    expect(r['undeliveredAcknowledged'], why).toBe(0);
    expect(r['offsetsBackwards'], why).toBe(0);
    expect(r['logsIdentical'], why).toBe(true);
    expect(r['rolesNormal'], why).toBe(true);
  }, DRILL_TIMEOUT_MS);

  it('bad flags change nothing and say what is wrong', async () => {
    const bad = await runCli(['drill', '--mode', 'flood', '--json']);
    expect(bad.code).toBe(2);
    expect(JSON.stringify(bad.json)).toMatch(/mode/);
    const help = await runCli(['drill', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--mode clean\|kill\|partition/);
  });
});

/** The drill's RTO arithmetic on made-up sends: what counts as the window, and what does not. */
describe('drill error window', () => {
  const ok = (startedAtMs: number, latencyMs = 5, room = 'dc2'): SendRecord => ({ key: `k${startedAtMs}`, topic: 't', startedAtMs, settledAtMs: startedAtMs + latencyMs, ok: true, room, brokerName: `b@${room}` });
  const failed = (startedAtMs: number, latencyMs = 5): SendRecord => ({ key: `f${startedAtMs}`, topic: 't', startedAtMs, settledAtMs: startedAtMs + latencyMs, ok: false, errorCode: 'UNAVAILABLE' });

  it('runs from the first failure after the cut to the first prompt acknowledgement after the last failure', () => {
    const records = [ok(900), failed(1010), ok(1100), failed(1500), ok(1600, 10), ok(1700)];
    const w = errorWindow(records, 'dc1', 1000);
    expect(w).toMatchObject({ windowStartMs: 1010, windowEndMs: 1610, windowMs: 600, failedAfterCut: 2, errorCodes: { UNAVAILABLE: 2 } });
  });

  it('counts a send that stalled past a second as down time, and nothing when every send was prompt', () => {
    expect(errorWindow([ok(1000, 2500), ok(1100, 2400), ok(3600)], 'dc1', 1000)).toMatchObject({ windowMs: 2605, slowAfterCut: 2, failedAfterCut: 0 });
    expect(errorWindow([ok(900), ok(1100), ok(1200)], 'dc1', 1000)).toMatchObject({ windowMs: 0, windowStartMs: undefined });
  });

  it('ends at the last failure when no prompt send followed (the load ended first)', () => {
    expect(errorWindow([failed(1200, 100), failed(1400, 300)], 'dc1', 1000)).toMatchObject({ windowStartMs: 1200, windowEndMs: 1700, windowMs: 500 });
  });

  it('isolated acks: only the cut room, only between the cut and the restore', () => {
    const records = [ok(900, 5, 'dc1'), ok(1000, 50, 'dc1'), ok(2000, 10, 'dc1'), ok(1500, 5, 'dc2'), ok(6000, 5, 'dc1')];
    expect(isolatedAcks(records, 'dc1', 1000, 5000)).toMatchObject({ count: 2, lastAfterCutMs: 1010 });
  });
});
