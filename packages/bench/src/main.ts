import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isRoomqError } from '@roomq/protocol';
import { percentiles, rerunWithAllocatorEnv } from '@roomq/cli';
import { parseBenchOptions, type Section } from './bench-options.js';
import { backlogConsume, createTopic, publishThroughput, sendLatency } from './client-path.js';
import { comparisonChart } from './comparison-chart.js';
import { comparisonMarkdown } from './comparison-markdown.js';
import { diskCeiling } from './disk-ceiling.js';
import { runDrill, type DrillOutcome } from './drill.js';
import { BenchCluster } from './local-servers.js';
import { comparisonSettings, runComparison, type ComparisonResult } from './peer-comparison.js';
import { PEERS } from './peers/registry.js';
import { Report, formatValue, progress, section, setJsonMode } from './report.js';
import { formatCpuPerUnit, sumCpu } from './process-cpu.js';
import { QUICK_WARM_UP_MESSAGES, WARM_UP_MESSAGES, catchUp, meanCpuPerMessage, meanMachineBusy, pairedChainPublish, steadyLag } from './replication.js';
import { storeAppend, storeLatency, storeRead } from './store-append.js';

/**
 * `npm run bench`: roomq's hot paths on this machine, each beside what bounds it, then the same client
 * scenarios beside NATS JetStream, RabbitMQ and Redis Streams where they run here. Scenarios run one after
 * another (never in parallel) so they do not steal each other's two cores.
 */

const BATCHES = [1, 16, 64, 256] as const;
/** Concurrent appendMessages calls, as a producer's frames in flight on one stream. */
const CONCURRENCY = 4;
/**
 * Rounds of single-broker and chain publish, taken in turns: run-to-run swings on this shared 2-core machine
 * (±30% seen) are bigger than the effects a target asks about, so one round decides nothing.
 */
const CHAIN_ROUNDS = 3;
/** `roomq drill --json` may start and cut a whole two-room cluster; it gets this long. */
const DRILL_TIMEOUT_MS = { quick: 120_000, full: 300_000 };

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      only: { type: 'string' },
      peers: { type: 'string' },
      'results-dir': { type: 'string' },
    },
    strict: true,
  });
  const options = parseBenchOptions(values, PEERS);
  setJsonMode(options.json);
  const quick = options.quick;
  const wants = (name: Section): boolean => !options.only || options.only.has(name);
  const seconds = quick ? 0.5 : 2;
  const messages = quick ? 50_000 : 200_000;
  const report = new Report();
  const work = await mkdtemp(join(process.env['ROOMQ_BENCH_DIR'] ?? tmpdir(), 'roomq-bench-'));
  let comparison: ComparisonResult | undefined;
  let drill: DrillOutcome | undefined;

  try {
    if (wants('storage')) {
      // Group commit covers every call waiting at that moment, so 4 concurrent calls of B messages are compared
      // with the disk writing 4×B records per fdatasync: the same bytes per sync.
      section(`Storage: append (1 KiB messages, ${CONCURRENCY} concurrent calls) beside the disk ceiling (write + fdatasync of as many records)`);
      // First, before the throughput runs leave the disk busy writing back and discarding gigabytes.
      const latency = await storeLatency(work, quick ? 1000 : 5000);
      for (const p of ['p50', 'p99'] as const) {
        report.add({ scenario: 'store append sync, 1 in flight', metric: `latency ${p}`, value: latency[p]!, unit: 'ms', note: p === 'p50' ? 'one write + fdatasync into preallocated space' : undefined });
      }
      for (const batch of BATCHES) {
        const perSync = batch * CONCURRENCY;
        const ceiling = await diskCeiling(work, 1100, perSync, seconds);
        report.add({ scenario: `disk ceiling, ${perSync}/fdatasync`, metric: 'throughput', value: Math.round(ceiling.msgsPerSec), unit: 'msg/s', note: `${ceiling.mbPerSec.toFixed(0)} MB/s, ${Math.round(ceiling.syncsPerSec)} syncs/s` });
        const sync = await storeAppend(work, 'sync', batch, CONCURRENCY, seconds);
        const ratio = sync.msgsPerSec / ceiling.msgsPerSec;
        report.add({ scenario: `store append sync, ${CONCURRENCY}×${batch}`, metric: 'throughput', value: Math.round(sync.msgsPerSec), unit: 'msg/s', note: `${(ratio * 100).toFixed(0)}% of disk ceiling (target ≥ 50%)` });
      }
      for (const batch of [16, 256]) {
        const asyncRun = await storeAppend(work, 'async', batch, CONCURRENCY, seconds);
        report.add({ scenario: `store append async, ${CONCURRENCY}×${batch}`, metric: 'throughput', value: Math.round(asyncRun.msgsPerSec), unit: 'msg/s' });
      }
      const read = await storeRead(work, messages);
      report.add({ scenario: `store read, ${messages} backlog`, metric: 'throughput', value: Math.round(read.msgsPerSec), unit: 'msg/s' });
    }

    if (wants('client')) {
      section('Client path: SDK in this process → broker and router processes on loopback, sync flush');
      const cluster = await BenchCluster.start(work, 'sync');
      try {
        const topic = 'bench-publish';
        await createTopic(cluster.routerEndpoint, topic, 4);
        const publish = await publishThroughput(cluster.routerEndpoint, topic, messages, 1000);
        report.add({ scenario: 'SDK publish, sync flush, 1000 in flight', metric: 'throughput', value: Math.round(publish.msgsPerSec), unit: 'msg/s', note: `target ≥ 80,000; ${publish.failed} failed` });
        const latencyTopic = 'bench-latency';
        await createTopic(cluster.routerEndpoint, latencyTopic, 1);
        const latency = await sendLatency(cluster.routerEndpoint, latencyTopic, quick ? 1000 : 5000);
        report.add({ scenario: 'SDK sync publish, 1 in flight', metric: 'latency p50', value: latency['p50']!, unit: 'ms', note: 'target ≤ 0.5' });
        report.add({ scenario: 'SDK sync publish, 1 in flight', metric: 'latency p99', value: latency['p99']!, unit: 'ms' });
        report.add({ scenario: 'SDK sync publish, 1 in flight', metric: 'latency p99.9', value: latency['p99.9']!, unit: 'ms' });
        const consume = await backlogConsume(cluster.routerEndpoint, topic, messages);
        report.add({ scenario: `SDK backlog consume, ${messages} messages`, metric: 'throughput', value: Math.round(consume.msgsPerSec), unit: 'msg/s', note: 'target ≥ 150,000' });
      } finally {
        await cluster.stop();
      }
      const single = report.get('SDK publish, sync flush, 1000 in flight', 'throughput');

      section('Two rooms: the same publish through a router per room, active-active topic, producer in dc1');
      const rooms = await BenchCluster.startTwoRooms(work, 'sync');
      try {
        const topic = 'bench-rooms';
        await createTopic(rooms.routerEndpoint, topic, 4, 'active-active');
        const routed = await publishThroughput(rooms.routersFor('dc1'), topic, messages, 1000, 'dc1');
        const cost = single ? (1 - routed.msgsPerSec / single) * 100 : 0;
        report.add({
          scenario: 'SDK publish, two rooms, room-aware routing',
          metric: 'throughput',
          value: Math.round(routed.msgsPerSec),
          unit: 'msg/s',
          note: `stored in ${routed.rooms.join(', ')}; routing cost ${cost.toFixed(1)}% of single-broker publish (target < 5%)`,
        });
      } finally {
        await rooms.stop();
      }
    }
    if (wants('replication')) {
      section('Replication: chains of three (master dc1 → slave dc1 → slave dc2 over a room link), sync flush');
      const rounds = quick ? 1 : CHAIN_ROUNDS;
      const paired = await pairedChainPublish(work, ['sync:1', 'async'], quick ? messages : messages / 2, rounds, quick ? QUICK_WARM_UP_MESSAGES : WARM_UP_MESSAGES);
      // p50 of a copy: percentiles sorts in place, and the rounds must stay paired by index.
      const median = (values: number[]): number => percentiles([...values], [50])['p50']!;
      const spread = (values: number[]): string => (values.length > 1 ? `; rounds ${values.map((v) => Math.round(v / 1000)).join(', ')}k` : '');
      const single = paired.single.map((run) => run.msgsPerSec);
      // CPU per message says what bounds a chain on two cores: every member stores every byte, and the kernel's
      // part of that (page cache, sockets, fdatasync) is paid once per member whatever our code does.
      const cpuNote = (runs: Parameters<typeof meanCpuPerMessage>[0]): string => {
        const cpu = meanCpuPerMessage(runs);
        const all = sumCpu(cpu);
        const busy = meanMachineBusy(runs);
        const machine = busy === undefined ? '' : `; machine ${(busy * 100).toFixed(0)}% busy`;
        return cpu.size > 0 ? `; CPU µs/msg: ${formatCpuPerUnit(cpu)} (${all.total.toFixed(1)} in all, ${all.kernel.toFixed(1)} in the kernel)${machine}` : machine;
      };
      report.add({ scenario: 'SDK publish, single broker (paired with the chains)', metric: 'throughput', value: Math.round(median(single)), unit: 'msg/s', note: `median of ${rounds}${spread(single)}${cpuNote(paired.single)}` });
      for (const [mode, runs] of paired.chains) {
        const values = runs.map((run) => run.msgsPerSec);
        const ratios = values.map((v, i) => v / single[i]!);
        const target = mode === 'sync:1' ? ' (target ≥ 50%)' : '';
        report.add({
          scenario: `SDK publish, ${mode} chain of three`,
          metric: 'throughput',
          value: Math.round(median(values)),
          unit: 'msg/s',
          note: `1000 in flight; ${(median(ratios) * 100).toFixed(0)}% of single-broker publish${target}, median of ${rounds} paired rounds${ratios.length > 1 ? ` (${ratios.map((r) => `${(r * 100).toFixed(0)}%`).join(', ')})` : ''}${spread(values)}${cpuNote(runs)}`,
        });
      }
      const lag = await steadyLag(work, 20_000, quick ? 5 : 15, 1);
      report.add({ scenario: 'async replication lag at 20k msg/s, 1 ms link delay', metric: 'lag p50', value: lag['p50']!, unit: 'ms', note: 'replica arrival − master store time' });
      report.add({ scenario: 'async replication lag at 20k msg/s, 1 ms link delay', metric: 'lag p99', value: lag['p99']!, unit: 'ms', note: 'target < 50' });
      const megabytes = quick ? 128 : 1024;
      const caught = await catchUp(work, megabytes);
      report.add({ scenario: `empty replica catch-up of ${(caught.bytes / 1e6).toFixed(0)} MB`, metric: 'rate', value: Math.round(caught.mbPerSec), unit: 'MB/s', note: `${caught.seconds.toFixed(1)} s, async flush, through the room link` });
    }
    if (wants('peers')) {
      section('Side by side: roomq, then NATS JetStream, RabbitMQ and Redis Streams where they answer (1 KiB messages)');
      comparison = await runComparison(work, options.peers, comparisonSettings(quick));
    }
    if (wants('drill')) {
      section('Room cut: roomq drill');
      drill = await runDrill(work, quick ? DRILL_TIMEOUT_MS.quick : DRILL_TIMEOUT_MS.full);
      if (drill.status === 'skipped') progress(`  skipped: ${drill.reason}`);
      else addDrillFigures(report, drill);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }

  const resultsDir = resolve(options['results-dir']);
  await mkdir(resultsDir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version };
  const machineLine = `${machine.cpus} × ${machine.cpuModel}, Node ${process.version}${quick ? ', --quick' : ''}`;
  const chart = comparison ? `bench-${stamp}.svg` : undefined;
  if (comparison && chart) {
    const svg = comparisonChart(comparison, `${report.startedAt} · ${machineLine}`);
    await writeFile(join(resultsDir, chart), svg);
    await writeFile(join(resultsDir, 'latest.svg'), svg);
  }
  const whole = {
    startedAt: report.startedAt,
    machine,
    quick,
    figures: report.figures,
    ...(comparison ? { comparison: { ...comparison, chart } } : {}),
    ...(drill ? { drill } : {}),
  };
  const sideBySide = comparison ? `\n\n${comparisonMarkdown({ ...comparison, ...(chart ? { chart } : {}) })}` : '';
  const drillNote = drill?.status === 'skipped' ? `\n\n## Room cut\n\nskipped: ${drill.reason}` : drill?.note ? `\n\n## Room cut\n\n${drill.note}` : '';
  // With --only peers there are no roomq-only figures: no empty table.
  const body = `${report.figures.length > 0 ? report.markdown() : ''}${sideBySide}${drillNote}`.trimStart();
  const markdown = `# roomq bench ${report.startedAt}\n\n${machineLine}\n\n${body}\n`;
  await writeFile(join(resultsDir, `bench-${stamp}.json`), `${JSON.stringify(whole, null, 2)}\n`);
  await writeFile(join(resultsDir, `bench-${stamp}.md`), markdown);
  await writeFile(join(resultsDir, 'latest.md'), markdown);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(whole)}\n`);
  } else {
    process.stdout.write(`\n${body}\n\nwritten to ${join(resultsDir, `bench-${stamp}.md`)}, .json${chart ? ' and .svg' : ''}\n`);
  }
}

/** Numeric recovery times become figures; anything else (a string, a note) stays in the JSON's `drill`. */
function addDrillFigures(report: Report, drill: Extract<DrillOutcome, { status: 'ran' }>): void {
  for (const field of drill.fields) {
    if (typeof field.value === 'number') report.add({ scenario: 'room-cut drill (roomq drill --json)', metric: field.path, value: field.value, unit: field.unit, note: `${drill.context ? `${drill.context}; ` : ''}drill took ${drill.seconds.toFixed(0)} s` });
    else progress(`  ${field.path}: ${field.value}`);
  }
  if (drill.note) progress(`  ${drill.note}`);
}

// The bench's own process runs the SDK clients and the room-link proxies of the chains: it gets the allocator
// settings the launcher gives every server (allocator-env.ts in @roomq/cli), or it would pay, in page faults,
// costs the brokers do not.
const rerun = await rerunWithAllocatorEnv();
if (rerun !== undefined) process.exit(rerun);

main()
  .catch((err: unknown) => {
    // A bad flag is the user's to fix: its message names the flag, a stack would only bury it.
    if (isRoomqError(err) && err.code === 'CONFIG_INVALID') {
      process.stderr.write(`${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => {
    // Exit once everything is written rather than when the event loop runs dry: a full run that had written
    // its results sat at 100% CPU for 40 minutes in Node's exit cleanup (node::Environment::CleanupHandles
    // spinning in uv_run, as in nodejs/node#47748), skewing everything measured beside it. The empty writes
    // wait until stdout and stderr have taken what came before, so a piped --json line is never cut.
    process.stdout.write('', () => process.stderr.write('', () => process.exit()));
  });


