import { parseArgs } from 'node:util';
import { Admin } from '@roomq/client';
import { parseTopicMode } from '@roomq/protocol';
import { makeOutput, table } from '../output.js';
import { routerList, routerOption } from '../routers.js';
import { UsageError, intOption } from '../usage-error.js';
import { confirm } from './room.js';
import { describeMigration, describeStatus } from './topic-migration-output.js';

export const topicUsage =
  'roomq topic create T [--queues N] [--mode active-active|home:ROOM] | roomq topic list | roomq topic status T | roomq topic migrate T --to active-active|home:R [--groups g1,g2] [--dry-run] [--yes] | roomq topic migrate T --pause|--resume|--rollback | roomq topic admit T --groups g1,g2   [--timeout-ms N] [--router ADDR] [--json]';

/** `roomq topic create|list|status`. */
export async function topicCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      ...routerOption,
      queues: { type: 'string' },
      mode: { type: 'string' },
      to: { type: 'string' },
      groups: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      yes: { type: 'boolean', default: false },
      pause: { type: 'boolean', default: false },
      resume: { type: 'boolean', default: false },
      rollback: { type: 'boolean', default: false },
      'timeout-ms': { type: 'string' },
      reason: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  const out = makeOutput(values.json ?? false);
  const [action, name] = positionals;
  const admin = new Admin({ router: routerList(values.router)[0]! });
  let pendingAdmit: string[] | undefined;
  let rollbackRequested = false;
  try {
    switch (action) {
      case 'create': {
        if (!name) throw new UsageError('topic create needs a topic name');
        const queues = values.queues === undefined ? undefined : intOption(values.queues, '--queues');
        if (values.mode !== undefined) parseTopicMode(values.mode);
        const result = await admin.createTopic(name, { ...(queues === undefined ? {} : { queuesPerBroker: queues }), ...(values.mode ? { mode: values.mode } : {}) });
        out.result(result, () =>
          result.created
            ? `created topic ${name}: mode ${result.topic.mode}, ${result.topic.queuesPerBroker} queues per broker`
            : `topic ${name} already exists (mode ${result.topic.mode}, ${result.topic.queuesPerBroker} queues per broker); nothing changed`,
        );
        return;
      }
      case 'list': {
        const topics = await admin.listTopics();
        out.result({ topics }, () =>
          topics.length === 0 ? 'no topics' : table(['topic', 'mode', 'queues per broker'], topics.map((t) => [t.name, t.mode, t.queuesPerBroker])),
        );
        return;
      }
      case 'status': {
        if (!name) throw new UsageError('topic status needs a topic name');
        const topics = await admin.listTopics();
        const topic = topics.find((t) => t.name === name);
        if (!topic) {
          out.result({ error: { code: 'TOPIC_NOT_FOUND', message: `topic ${name} does not exist` } }, () => `topic ${name} does not exist; create it with roomq topic create ${name}`);
          process.exitCode = 1;
          return;
        }
        const cluster = await admin.clusterStatus();
        const migration = await admin.migrationStatus(name);
        const brokers = cluster.brokers.map((b) => ({
          broker: b.name,
          room: b.room,
          role: b.role,
          alive: b.alive,
          writable: b.writable,
          messages: b.topics.find((t) => t.topic === name)?.maxOffsetsTotal ?? 0,
        }));
        const byRoom: Record<string, number> = {};
        for (const b of brokers) if (b.role === 'master') byRoom[b.room] = (byRoom[b.room] ?? 0) + b.messages;
        out.result({ topic, brokers, messagesByRoom: byRoom, migration }, () =>
          [
            `topic ${name}: mode ${topic.mode}, ${topic.queuesPerBroker} queues per broker`,
            topic.mode === 'active-active' ? 'producers write to masters in their own room' : `every producer writes to masters in ${topic.mode.slice('home:'.length)}`,
            '',
            table(['broker', 'room', 'role', 'alive', 'writable', 'messages stored'], brokers.map((b) => [b.broker, b.room, b.role, b.alive ? 'yes' : 'no', b.writable ? 'yes' : 'no', b.messages])),
            ...(migration.migration ? ['', describeStatus(migration)] : []),
          ].join('\n'),
        );
        return;
      }
      case 'migrate':
      case 'admit': {
        if (!name) throw new UsageError(`topic ${action} needs a topic name`);
        const groups = values.groups === undefined ? [] : values.groups.split(',').map((g) => g.trim()).filter((g) => g);
        const timeoutMs = intOption(values['timeout-ms'], '--timeout-ms', 120_000);
        const reason = values.reason ?? '';
        const flags = [values.pause, values.resume, values.rollback, values.to !== undefined].filter(Boolean).length;
        let step: 'start' | 'admit' | 'pause' | 'resume' | 'rollback';
        if (action === 'admit') {
          if (groups.length === 0) throw new UsageError('topic admit needs --groups g1,g2 (or \'*\' for every group)');
          step = 'admit';
        } else {
          if (flags !== 1) throw new UsageError('topic migrate needs exactly one of --to MODE, --pause, --resume, --rollback');
          step = values.pause ? 'pause' : values.resume ? 'resume' : values.rollback ? 'rollback' : 'start';
        }
        if (step === 'start') parseTopicMode(values.to!);
        const dryRun = values['dry-run'] ?? false;
        if (step === 'start' || step === 'rollback' || step === 'admit') {
          // The plan first: a dry-run start shows the record it would write; admit and rollback say what moves.
          const plan =
            step === 'start'
              ? (await admin.changeMigration({ topic: name, action: 'start', toMode: values.to!, groups, dryRun: true, reason })).migration
              : await admin.getMigration(name);
          const what =
            step === 'start'
              ? `migrate ${name}: ${describeMigration(plan)}`
              : step === 'admit'
                ? `admit ${groups.join(', ')} to ${name}'s new route (${describeMigration(plan)})`
                : `roll back ${name} (${describeMigration(plan)}): every producer returns to the old route`;
          if (dryRun) {
            out.result({ dryRun: true, plan }, () => `dry run, nothing changed: ${what}`);
            return;
          }
          if (!out.json) process.stderr.write(`${what}\n`);
          await confirm(values.yes ?? false, `${step} the migration of ${name}?`);
        }
        if (step === 'start') await admin.changeMigration({ topic: name, action: 'start', toMode: values.to!, groups, reason });
        if (step === 'admit') pendingAdmit = groups;
        if (step === 'pause' || step === 'resume') {
          const result = await admin.changeMigration({ topic: name, action: step, reason });
          out.result(result, () => `${result.message}\n${describeMigration(result.migration)}`);
          return;
        }
        if (step === 'rollback') rollbackRequested = true;
        const result = await admin.driveMigration(name, {
          timeoutMs,
          reason,
          ...(rollbackRequested ? { rollback: true } : {}),
          ...(pendingAdmit ? { admit: pendingAdmit } : {}),
          onProgress: (p) => {
            if (!out.json) process.stderr.write(`[${new Date().toISOString().slice(11, 23)}] ${p.rollingBack ? 'rollback ' : ''}${p.phase}: ${p.message}\n`);
          },
        });
        out.result(result, () => `${result.outcome}: ${describeMigration(result.migration)} (${result.tookMs} ms)`);
        return;
      }
      default:
        throw new UsageError(`unknown topic action ${JSON.stringify(action ?? '')}; use create, list, status, migrate or admit`);
    }
  } finally {
    admin.close();
  }
}
