import { parseArgs } from 'node:util';
import { Admin } from '@roomq/client';
import { makeOutput } from '../output.js';
import { routerList, routerOption } from '../routers.js';
import { UsageError, intOption } from '../usage-error.js';
import { confirm, groupsTable, runFailback } from './room.js';

export const groupUsage = 'roomq group list | roomq group failback G [--yes] [--timeout-ms N]   [--router ADDR] [--json]';

/** `roomq group list|failback`: broker group leadership (epochs, leaders) and handing it back. */
export async function groupCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...routerOption, yes: { type: 'boolean', default: false }, 'timeout-ms': { type: 'string' }, json: { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
  const out = makeOutput(values.json ?? false);
  const [action, group] = positionals;
  const admin = new Admin({ router: routerList(values.router)[0]! });
  try {
    switch (action) {
      case 'list': {
        const listing = await admin.listRooms();
        out.result({ groups: listing.groups }, () => groupsTable(listing));
        return;
      }
      case 'failback': {
        if (!group) throw new UsageError('group failback needs a broker group name, e.g. roomq group failback broker-a');
        const timeoutMs = values['timeout-ms'] === undefined ? undefined : intOption(values['timeout-ms'], '--timeout-ms');
        const listing = await admin.listRooms();
        const current = listing.groups.find((g) => g.group === group);
        if (!current) throw new UsageError(`unknown broker group ${group}; see roomq group list`);
        if (current.leader !== current.configuredMaster) {
          if (!values.json) process.stdout.write(`failback ${group}: ${current.leader} (epoch ${current.epoch}) hands over to ${current.configuredMaster}\n`);
          await confirm(values.yes ?? false, `fail back group ${group} to ${current.configuredMaster}?`);
        }
        const outcome = await runFailback(admin, out, group, timeoutMs);
        if (outcome.error) process.exitCode = 1;
        out.result({ event: 'failback-summary', ...outcome }, () => (outcome.result ? outcome.result.message : `failback of ${group} failed`));
        return;
      }
      default:
        throw new UsageError(`unknown group action ${JSON.stringify(action ?? '')}; use list or failback`);
    }
  } finally {
    await admin.close();
  }
}
