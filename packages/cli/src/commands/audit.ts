import { parseArgs } from 'node:util';
import { Admin } from '@roomq/client';
import { makeOutput, table } from '../output.js';
import { routerList, routerOption } from '../routers.js';
import { UsageError, intOption } from '../usage-error.js';

export const auditUsage = 'roomq audit [--limit N]   [--router ADDR] [--json]';

/** Default number of audit entries shown. */
const DEFAULT_LIMIT = 20;

/** `roomq audit`: who cut or restored which room, moved which group, when and why; newest first. */
export async function auditCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, options: { ...routerOption, limit: { type: 'string' }, json: { type: 'boolean', default: false } }, allowPositionals: true, strict: true });
  if (positionals.length > 0) throw new UsageError(`roomq audit takes no arguments, got ${JSON.stringify(positionals.join(' '))}`);
  const limit = intOption(values.limit, '--limit', DEFAULT_LIMIT);
  const out = makeOutput(values.json ?? false);
  const admin = new Admin({ router: routerList(values.router)[0]! });
  try {
    const entries = await admin.listAudit(limit === 0 ? DEFAULT_LIMIT : limit);
    out.result({ entries }, () =>
      entries.length === 0
        ? 'no audited changes yet'
        : table(
            ['seq', 'at', 'by', 'action', 'target', 'version', 'reason'],
            entries.map((e) => [e.seq, new Date(e.atMs).toISOString(), e.by, e.action, e.target, e.version, e.reason]),
          ),
    );
  } finally {
    await admin.close();
  }
}
