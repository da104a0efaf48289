import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * The room-cut drill, reported when `roomq drill` exists: it is built separately, so this only runs
 * `roomq drill --json`, reads the JSON on its last line and picks out the fields that look like a recovery
 * time (`rto…`, `…recover…`), whatever their nesting. Anything else is a skip with a note, never a failure.
 */

/** `packages/cli/dist/main.js`, beside this package's `dist/`. */
const CLI_MAIN = fileURLToPath(new URL('../../cli/dist/main.js', import.meta.url));
const HELP_TIMEOUT_MS = 15_000;
const RTO_KEY = /rto|recover/i;
/** Top-level fields that say what was drilled and whether it passed, quoted beside the RTO when present. */
const CONTEXT_KEYS = ['mode', 'room', 'replication', 'ok', 'lostAcknowledged'];

export type DrillOutcome =
  | { status: 'skipped'; reason: string }
  | { status: 'ran'; fields: DrillField[]; seconds: number; context: string; note?: string };

export interface DrillField {
  /** Dotted path in the drill's JSON, e.g. `rtoMs` or `rooms.dc1.rtoMs`. */
  path: string;
  value: number | string;
  /** Guessed from the key's suffix (`Ms`, `Seconds`), else empty. */
  unit: string;
}

export async function runDrill(cwd: string, timeoutMs: number): Promise<DrillOutcome> {
  const help = await run(['drill', '--help'], cwd, HELP_TIMEOUT_MS);
  if (help.code !== 0) return { status: 'skipped', reason: `roomq drill is not available (\`roomq drill --help\` exited ${help.code ?? help.signal ?? 'abnormally'})` };
  const started = performance.now();
  const drill = await run(['drill', '--json'], cwd, timeoutMs);
  const seconds = (performance.now() - started) / 1000;
  if (drill.timedOut) return { status: 'skipped', reason: `roomq drill --json did not finish within ${timeoutMs / 1000} s` };
  const lastLine = drill.stdout.trimEnd().split('\n').pop() ?? '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(lastLine);
  } catch {
    return { status: 'skipped', reason: `roomq drill --json exited ${drill.code} without a JSON last line${tail(drill.stderr)}` };
  }
  const fields = rtoFields(parsed);
  const context = drillContext(parsed);
  const note = drill.code === 0 ? undefined : `roomq drill exited ${drill.code}`;
  if (fields.length === 0) {
    const keys = parsed && typeof parsed === 'object' ? Object.keys(parsed).join(', ') : typeof parsed;
    return { status: 'ran', fields, seconds, context, note: `${note ? `${note}; ` : ''}no rto-like field in its JSON (top-level keys: ${keys})` };
  }
  return note ? { status: 'ran', fields, seconds, context, note } : { status: 'ran', fields, seconds, context };
}

/** e.g. `mode clean, room dc1, replication sync:1, ok true`: only the keys that are there and scalar. */
export function drillContext(value: unknown): string {
  if (!value || typeof value !== 'object') return '';
  const record = value as Record<string, unknown>;
  return CONTEXT_KEYS.filter((k) => ['string', 'number', 'boolean'].includes(typeof record[k]))
    .map((k) => `${k} ${String(record[k])}`)
    .join(', ');
}

/** Every number or string under a key that looks like a recovery time, depth first. */
export function rtoFields(value: unknown, prefix = ''): DrillField[] {
  if (!value || typeof value !== 'object') return [];
  const out: DrillField[] = [];
  for (const [key, v] of Object.entries(value)) {
    const path = Array.isArray(value) ? `${prefix}[${key}]` : prefix ? `${prefix}.${key}` : key;
    if (RTO_KEY.test(key) && (typeof v === 'number' || typeof v === 'string')) out.push({ path, value: v, unit: unitOf(key) });
    else out.push(...rtoFields(v, path));
  }
  return out;
}

function unitOf(key: string): string {
  if (/ms$/i.test(key)) return 'ms';
  if (/(seconds|secs|sec)$/i.test(key)) return 's';
  return '';
}

function tail(stderr: string): string {
  const last = stderr.trim().split('\n').slice(-3).join(' / ');
  return last ? `: ${last.slice(0, 300)}` : '';
}

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

function run(args: string[], cwd: string, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // SIGINT first: a drill that started servers gets to stop them.
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGINT');
      setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, stdout, stderr: `${stderr}${err.message}`, timedOut });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}
