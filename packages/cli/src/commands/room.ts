import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { Admin, type FailbackProgress, type FailbackResult, type RoomChangeResult, type RoomListing, type RoomPlan } from '@roomq/client';
import { toRoomqError } from '@roomq/protocol';
import { makeOutput, table, type Output } from '../output.js';
import { routerList, routerOption } from '../routers.js';
import { UsageError, intOption } from '../usage-error.js';

export const roomUsage =
  'roomq room cut R [--reason TEXT] [--by NAME] [--yes] [--dry-run] | roomq room restore R [--no-failback] [--timeout-ms N] [--reason TEXT] [--by NAME] [--yes] [--dry-run] | roomq room list   [--router ADDR] [--json]';

/** `roomq room cut|restore|list`: switch a room's writes off and on, durably and audited. */
export async function roomCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      ...routerOption,
      reason: { type: 'string' },
      by: { type: 'string' },
      yes: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      'no-failback': { type: 'boolean', default: false },
      'timeout-ms': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  const out = makeOutput(values.json ?? false);
  const [action, room] = positionals;
  const admin = new Admin({ router: routerList(values.router)[0]! });
  try {
    switch (action) {
      case 'cut':
      case 'restore': {
        if (!room) throw new UsageError(`room ${action} needs a room name, e.g. roomq room ${action} dc1`);
        // Without --by the SDK records `$USER@hostname` (defaultActor).
        const change = { room, reason: values.reason ?? '', ...(values.by ? { by: values.by } : {}) };
        const run = (dryRun: boolean, expectedVersion = 0) =>
          action === 'cut' ? admin.cutRoom({ ...change, dryRun, expectedVersion }) : admin.restoreRoom({ ...change, dryRun, expectedVersion });
        const planned = await run(true);
        if (values['dry-run'] || !planned.plan.changes) {
          out.result({ dryRun: values['dry-run'] ?? false, ...planned }, () => describePlan(planned.plan));
          if (action === 'cut' || values['dry-run'] || values['no-failback']) return;
          // An active room may still have groups to hand back (a restore whose failback failed earlier).
          await failbackRoom(admin, out, planned, values['timeout-ms']);
          return;
        }
        if (!values.json) process.stdout.write(`${describePlan(planned.plan)}\n`);
        await confirm(values.yes ?? false, `${action} room ${room}?`);
        const result = await run(false, planned.plan.currentVersion);
        out.result(result, () => describeOutcome(result));
        if (action === 'restore' && !values['no-failback']) await failbackRoom(admin, out, result, values['timeout-ms']);
        return;
      }
      case 'list': {
        const listing = await admin.listRooms();
        out.result(listing, () => describeListing(listing));
        return;
      }
      default:
        throw new UsageError(`unknown room action ${JSON.stringify(action ?? '')}; use cut, restore or list`);
    }
  } finally {
    await admin.close();
  }
}

/** Runs failbackGroup for every group of the restored room whose configured master does not lead; sets the exit code on failures. */
async function failbackRoom(admin: Admin, out: Output, restored: RoomChangeResult, timeoutText: string | undefined): Promise<void> {
  const groups = restored.plan.groups.map((g) => g.group);
  const timeoutMs = timeoutText === undefined ? undefined : intOption(timeoutText, '--timeout-ms');
  const summary: Array<{ group: string; result?: FailbackResult; error?: unknown }> = [];
  for (const group of groups) summary.push(await runFailback(admin, out, group, timeoutMs));
  if (groups.length === 0) return;
  const failed = summary.filter((s) => s.error !== undefined);
  if (failed.length > 0) process.exitCode = 1;
  out.result({ event: 'failback-summary', room: restored.plan.room, failbacks: summary }, () =>
    [
      '',
      table(
        ['group', 'outcome'],
        summary.map((s) => [s.group, s.result ? s.result.message : `FAILED: ${toRoomqError(s.error).message}`]),
      ),
    ].join('\n'),
  );
}

/** One failback with progress lines (human) or JSON lines; never throws, the caller summarises. */
export async function runFailback(admin: Admin, out: Output, group: string, timeoutMs: number | undefined): Promise<{ group: string; result?: FailbackResult; error?: { code: string; message: string } }> {
  let last = '';
  const onProgress = (p: FailbackProgress) => {
    const line = `failback ${group}: ${p.phase}: ${p.message}`;
    if (line === last) return;
    last = line;
    if (out.json) process.stdout.write(`${JSON.stringify({ event: 'failback-progress', ...p })}\n`);
    else process.stdout.write(`${line}\n`);
  };
  try {
    const result = await admin.failbackGroup(group, { ...(timeoutMs === undefined ? {} : { timeoutMs }), onProgress });
    return { group, result };
  } catch (err) {
    const error = toRoomqError(err);
    if (out.json) process.stdout.write(`${JSON.stringify({ event: 'failback-failed', group, error: error.toJSON() })}\n`);
    else process.stdout.write(`failback ${group} FAILED: ${error.message}\n`);
    return { group, error: { code: error.code, message: error.message } };
  }
}

/** Asks on a TTY; without one, --yes is required (scripts must say so explicitly). */
export async function confirm(yes: boolean, question: string): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY) throw new UsageError(`${question} needs confirmation and stdin is not a terminal; pass --yes to proceed`);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question(`${question} [y/N] `)).trim().toLowerCase();
    if (answer !== 'y' && answer !== 'yes') throw new UsageError('not confirmed; nothing changed');
  } finally {
    rl.close();
  }
}

export function describePlan(plan: RoomPlan): string {
  const lines: string[] = [];
  if (!plan.changes) {
    lines.push(...plan.notes);
    if (plan.groups.length > 0) lines.push('', groupMovesTable(plan));
    return lines.join('\n');
  }
  lines.push(`plan: ${plan.action} room ${plan.room} (${plan.fromStatus} → ${plan.toStatus}, record version ${plan.currentVersion})`);
  if (plan.groups.length > 0) lines.push('', groupMovesTable(plan));
  if (plan.topics.length > 0) lines.push('', `topics whose writes move: ${plan.topics.map((t) => `${t.name} (${t.mode})`).join(', ')}`);
  if (plan.action === 'cut') {
    lines.push(plan.clients.length > 0 ? `clients that move: ${plan.clients.map((c) => `${c.clientId}${c.group ? ` (${c.group})` : ''}`).join(', ')}` : 'clients that move: none known to this router');
  }
  if (plan.notes.length > 0) lines.push('', ...plan.notes.map((n) => `- ${n}`));
  return lines.join('\n');
}

function groupMovesTable(plan: RoomPlan): string {
  const restore = plan.action === 'restore';
  return table(
    restore ? ['group', 'leads now', 'configured master', 'epoch', 'leader flushed', 'master flushed'] : ['group', 'leader', '→ acting master', 'epoch', 'leader flushed', 'new flushed', 'note'],
    plan.groups.map((g) =>
      restore
        ? [g.group, g.fromLeader, g.toLeader ?? '', g.fromEpoch, g.fromFlushedOffset, g.toFlushedOffset]
        : [g.group, g.fromLeader, g.toLeader ?? '(stays)', g.moves ? `${g.fromEpoch} → ${g.toEpoch}` : String(g.fromEpoch), g.fromFlushedOffset, g.moves ? g.toFlushedOffset : '', g.note],
    ),
  );
}

export function describeOutcome(result: RoomChangeResult): string {
  if (!result.applied) return describePlan(result.plan);
  const r = result.room;
  const lines = [`room ${r.room} is ${r.status} (version ${r.version}, by ${r.changedBy}, at ${new Date(r.changedAtMs).toISOString()}${r.reason ? `, reason: ${r.reason}` : ''})`];
  for (const g of result.groups) lines.push(`group ${g.group}: acting master ${g.leader} at epoch ${g.epoch}`);
  for (const g of result.plan.groups.filter((m) => !m.moves && result.plan.action === 'cut')) lines.push(`group ${g.group}: ${g.note}`);
  if (result.audit) lines.push(`audit #${result.audit.seq}`);
  return lines.join('\n');
}

export function describeListing(listing: RoomListing): string {
  return [roomsTable(listing), '', groupsTable(listing)].join('\n');
}

export function roomsTable(listing: RoomListing): string {
  if (listing.rooms.length === 0) return 'no rooms known';
  return table(
    ['room', 'status', 'version', 'changed by', 'changed at', 'reason', 'brokers', 'routers'],
    listing.rooms.map((r) => [r.room, r.status === 'cut' ? 'CUT' : r.status, r.version, r.changedBy, r.changedAtMs ? new Date(r.changedAtMs).toISOString() : '', r.reason, r.brokers, r.routers]),
  );
}

export function groupsTable(listing: RoomListing): string {
  if (listing.groups.length === 0) return 'no broker groups known';
  return table(
    ['group', 'epoch', 'leader', 'leader room', 'configured master', 'frozen', 'version'],
    listing.groups.map((g) => [g.group, g.epoch, g.leader, g.leaderRoom, g.configuredMaster + (g.configuredMaster && g.configuredMaster !== g.leader ? ' (not leading)' : ''), g.frozen ? 'FROZEN' : 'no', g.version]),
  );
}
