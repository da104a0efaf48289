import { parseArgs } from 'node:util';
import { RoomqError } from '@roomq/protocol';
import type { DrillCluster } from '../drill/drill-cluster.js';
import { drillEvents, startClock } from '../drill/drill-events.js';
import { parseDrillOptions, type DrillOptionsInput } from '../drill/drill-options.js';
import { runDrill } from '../drill/drill-run.js';
import { humanReport } from '../drill/report.js';
import { UsageError } from '../usage-error.js';

export const drillUsage =
  'roomq drill [--mode clean|kill|partition|none] [--room dc1|dc2] [--rate N] [--warmup-s N] [--cut-s N] [--replication sync:N|async] [--lease-ms N] [--data-dir DIR] [--keep] [--json]';

const HELP = `${drillUsage}

Starts its own two-room cluster (like roomq local, on free ports), runs steady load and a consumer group in
both rooms, cuts a room, restores it and fails its groups back, then reports what a user would notice.

  --mode       clean: an operator's cut (default); kill: kill -9 every process of the room, then cut;
               partition: blackhole every link between the rooms, then cut (control store: Redis);
               none: no cut, a baseline of the same load and checks
  --room       the room to cut (default dc1)
  --rate       messages per second from each room's producer, split between an active-active topic
               and one homed in the cut room (default 200)
  --warmup-s   load before the cut (default 5); --cut-s: time under the cut (default 10)
  --replication  the groups' mode (default sync:1)
  --lease-ms   the brokers' write lease (default: theirs)
  --data-dir   an empty directory for the cluster (default: a temp dir); --keep leaves it in place
  --redis      Redis for partition drills (default redis://127.0.0.1:6379; each drill uses its own key prefix)
  --json       progress as JSON lines with "event", the report as one JSON object on the last line

Exit code 0 when every check passed, 1 when one failed, 2 on bad usage, 130 when interrupted.`;

/** `roomq drill`: a room-cut drill against a cluster of its own. */
export async function drillCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      mode: { type: 'string' },
      room: { type: 'string' },
      rate: { type: 'string' },
      'warmup-s': { type: 'string' },
      'cut-s': { type: 'string' },
      replication: { type: 'string' },
      'lease-ms': { type: 'string' },
      'data-dir': { type: 'string' },
      'message-bytes': { type: 'string' },
      queues: { type: 'string' },
      'drain-timeout-s': { type: 'string' },
      redis: { type: 'string' },
      keep: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const input: DrillOptionsInput = {
    ...(values.mode === undefined ? {} : { mode: values.mode as DrillOptionsInput['mode'] }),
    ...(values.room === undefined ? {} : { room: values.room as DrillOptionsInput['room'] }),
    ...numberOption(values.rate, '--rate', 'ratePerSec'),
    ...numberOption(values['warmup-s'], '--warmup-s', 'warmupS'),
    ...numberOption(values['cut-s'], '--cut-s', 'cutS'),
    ...numberOption(values['lease-ms'], '--lease-ms', 'leaseMs'),
    ...numberOption(values['message-bytes'], '--message-bytes', 'messageBytes'),
    ...numberOption(values.queues, '--queues', 'queues'),
    ...numberOption(values['drain-timeout-s'], '--drain-timeout-s', 'drainTimeoutS'),
    ...(values.replication === undefined ? {} : { replication: values.replication }),
    ...(values['data-dir'] === undefined ? {} : { dataDir: values['data-dir'] }),
    ...(values.redis === undefined ? {} : { redisUrl: values.redis }),
    keep: values.keep ?? false,
    json: values.json ?? false,
  };
  let options;
  try {
    options = parseDrillOptions(input);
  } catch (err) {
    // Bad flags are usage mistakes: printed with the usage line, exit code 2.
    throw new UsageError(err instanceof RoomqError ? flagNames(err.message.replace(/^drill options: /, '')) : String(err));
  }

  const clock = startClock();
  const events = drillEvents(options.json, clock);
  const abort = new AbortController();
  let cluster: DrillCluster | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (abort.signal.aborted) {
      // A second Ctrl-C: do not wait for a clean stop.
      cluster?.killAllNow();
      process.exit(130);
    }
    events.emit('interrupted', { signal }, `${signal}: stopping the drill and everything it started (Ctrl-C again to kill at once)`);
    abort.abort(new RoomqError('ABORTED', `the drill was interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Whatever happens to this process, no server it started outlives it.
  const onExit = (): void => cluster?.killAllNow();
  process.on('exit', onExit);
  try {
    const report = await runDrill(options, { events, clock, signal: abort.signal, onCluster: (c) => (cluster = c) });
    process.stdout.write(options.json ? `${JSON.stringify(report)}\n` : `\n${humanReport(report)}\n`);
    process.exitCode = report.ok ? 0 : 1;
  } catch (err) {
    if (abort.signal.aborted) {
      process.exitCode = 130;
      if (options.json) process.stdout.write(`${JSON.stringify({ error: { code: 'ABORTED', message: 'the drill was interrupted; everything it started was stopped' } })}\n`);
      return;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    exitIfStuck();
  }
}

/** After the report, how long the process may take to end by itself once everything was closed. */
const EXIT_GRACE_MS = 5_000;

/**
 * Everything the drill started is stopped by now, so the process should end by itself. If a client library
 * still holds a timer or socket, it is named on stderr and the process exits anyway: a drill in a script or
 * CI job must never hang after its report. The timer is unref'd, so it never delays a clean exit.
 *
 * A clean end goes through process.exit too, once the loop is empty: Node's own teardown after a natural end
 * was seen to spin at 100% CPU for good (main thread in Environment::CleanupHandles, uv_run(ONCE) in a loop,
 * every thread-pool worker idle; once in 6 full test runs, and on the first of a loop of partition drills),
 * when the timer is already gone.
 */
function exitIfStuck(): void {
  process.once('beforeExit', () => process.exit());
  setTimeout(() => {
    const handles = (process as unknown as { _getActiveHandles?: () => object[] })._getActiveHandles?.() ?? [];
    const names = handles.map((h) => h.constructor?.name ?? typeof h).join(', ');
    process.stderr.write(`roomq drill: still running ${EXIT_GRACE_MS} ms after the report (${names}); exiting\n`);
    process.exit();
  }, EXIT_GRACE_MS).unref();
}

function numberOption<K extends keyof DrillOptionsInput>(value: string | undefined, flag: string, key: K): Partial<Record<K, number>> {
  if (value === undefined) return {};
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${flag} must be a number, not ${JSON.stringify(value)}`);
  return { [key]: n } as Partial<Record<K, number>>;
}

/** Option fields as the flags that set them, so an error names what the user typed. */
const FLAGS: Record<string, string> = {
  mode: '--mode',
  room: '--room',
  ratePerSec: '--rate',
  warmupS: '--warmup-s',
  cutS: '--cut-s',
  replication: '--replication',
  leaseMs: '--lease-ms',
  dataDir: '--data-dir',
  messageBytes: '--message-bytes',
  queues: '--queues',
  drainTimeoutS: '--drain-timeout-s',
  redisUrl: '--redis',
};

function flagNames(problems: string): string {
  return problems
    .split('; ')
    .map((p) => p.replace(/^(\w+): /, (all, field: string) => (FLAGS[field] ? `${FLAGS[field]}: ` : all)))
    .join('; ');
}
