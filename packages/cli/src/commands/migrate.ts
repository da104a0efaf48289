import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { Admin, type DriveResult } from '@roomq/client';
import { parseTopicMode, toRoomqError } from '@roomq/protocol';
import { z } from 'zod';
import { makeOutput, table } from '../output.js';
import { routerList, routerOption } from '../routers.js';
import { UsageError, intOption } from '../usage-error.js';
import { confirm } from './room.js';
import { describeMigration } from './topic-migration-output.js';

export const migrateUsage = 'roomq migrate plan --file FILE [--max-parallel N] [--dry-run] [--yes] [--timeout-ms N]   [--router ADDR] [--json]';

/** Topics move this many at a time unless --max-parallel says otherwise. */
export const DEFAULT_MAX_PARALLEL = 2;

/**
 * A plan file: `{ "topics": { "orders": "active-active", "audit": "home:dc2" } }`, or a list
 * `[{ "topic": "orders", "to": "active-active", "groups": ["billing"] }]` when some topics admit only some groups.
 */
const PlanSchema = z.union([
  z.object({ topics: z.record(z.string().min(1), z.string().min(1)) }).strict(),
  z.array(z.object({ topic: z.string().min(1), to: z.string().min(1), groups: z.array(z.string().min(1)).optional() }).strict()).min(1),
]);

interface PlanEntry {
  topic: string;
  to: string;
  groups: string[];
}

interface EntryOutcome {
  topic: string;
  to: string;
  outcome: DriveResult['outcome'] | 'failed' | 'planned';
  message: string;
  tookMs: number;
}

/** `roomq migrate plan`: many topics through the migration state machine, at most N moving at once. */
export async function migrateCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      ...routerOption,
      file: { type: 'string' },
      'max-parallel': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      yes: { type: 'boolean', default: false },
      'timeout-ms': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals[0] !== 'plan') throw new UsageError(`unknown migrate action ${JSON.stringify(positionals[0] ?? '')}; use plan`);
  if (!values.file) throw new UsageError('migrate plan needs --file FILE');
  const maxParallel = intOption(values['max-parallel'], '--max-parallel', DEFAULT_MAX_PARALLEL);
  if (maxParallel < 1) throw new UsageError('--max-parallel must be at least 1');
  const timeoutMs = intOption(values['timeout-ms'], '--timeout-ms', 120_000);
  const entries = await readPlan(values.file);
  const out = makeOutput(values.json ?? false);
  const admin = new Admin({ router: routerList(values.router)[0]! });
  try {
    // Always check the whole plan first, so a bad entry changes nothing.
    const planned: EntryOutcome[] = [];
    for (const e of entries) {
      const dry = await admin.changeMigration({ topic: e.topic, action: 'start', toMode: e.to, groups: e.groups, dryRun: true });
      planned.push({ topic: e.topic, to: e.to, outcome: 'planned', message: describeMigration(dry.migration), tookMs: 0 });
    }
    if (values['dry-run']) {
      out.result({ dryRun: true, maxParallel, topics: planned }, () => `dry run, nothing changed; ${planned.length} topic(s), ${maxParallel} at a time:\n${table(['topic', 'to', 'plan'], planned.map((p) => [p.topic, p.to, p.message]))}`);
      return;
    }
    await confirm(values.yes ?? false, `migrate ${entries.length} topic(s), ${maxParallel} at a time?`);
    const results: EntryOutcome[] = [];
    let next = 0;
    let finished = 0;
    const worker = async (): Promise<void> => {
      while (next < entries.length) {
        const e = entries[next++]!;
        const started = Date.now();
        if (!out.json) process.stderr.write(`[${finished}/${entries.length}] ${e.topic} → ${e.to}: starting\n`);
        try {
          await admin.changeMigration({ topic: e.topic, action: 'start', toMode: e.to, groups: e.groups, reason: `migrate plan ${values.file}` });
          const result = await admin.driveMigration(e.topic, {
            timeoutMs,
            reason: `migrate plan ${values.file}`,
            onProgress: (p) => {
              if (!out.json) process.stderr.write(`[${finished}/${entries.length}] ${e.topic}: ${p.phase}: ${p.message}\n`);
            },
          });
          results.push({ topic: e.topic, to: e.to, outcome: result.outcome, message: describeMigration(result.migration), tookMs: result.tookMs });
        } catch (err) {
          results.push({ topic: e.topic, to: e.to, outcome: 'failed', message: toRoomqError(err).message, tookMs: Date.now() - started });
        }
        finished++;
        if (!out.json) process.stderr.write(`[${finished}/${entries.length}] ${e.topic}: ${results[results.length - 1]!.outcome}\n`);
      }
    };
    await Promise.all(Array.from({ length: Math.min(maxParallel, entries.length) }, () => worker()));
    const failed = results.filter((r) => r.outcome === 'failed').length;
    if (failed > 0) process.exitCode = 1;
    out.result({ maxParallel, topics: results, failed }, () => `${results.length - failed} of ${results.length} topic(s) moved on, ${failed} failed:\n${table(['topic', 'to', 'outcome', 'ms', 'state'], results.map((r) => [r.topic, r.to, r.outcome, r.tookMs, r.message]))}`);
  } finally {
    await admin.close();
  }
}

async function readPlan(file: string): Promise<PlanEntry[]> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`cannot read the plan ${file}: ${(err as Error).message}`);
  }
  const parsed = PlanSchema.safeParse(json);
  if (!parsed.success) {
    throw new UsageError(`plan ${file} is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}; write {"topics": {"orders": "active-active"}}`);
  }
  const entries: PlanEntry[] = Array.isArray(parsed.data)
    ? parsed.data.map((e) => ({ topic: e.topic, to: e.to, groups: e.groups ?? [] }))
    : Object.entries(parsed.data.topics).map(([topic, to]) => ({ topic, to, groups: [] }));
  for (const e of entries) parseTopicMode(e.to);
  if (new Set(entries.map((e) => e.topic)).size !== entries.length) throw new UsageError(`plan ${file} names a topic twice`);
  return entries;
}
