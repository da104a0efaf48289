import { parseArgs } from 'node:util';
import { Admin } from '@roomq/client';
import { parseTopicMode } from '@roomq/protocol';
import { makeOutput, table } from '../output.js';
import { routerList, routerOption } from '../routers.js';
import { UsageError, intOption } from '../usage-error.js';

export const topicUsage = 'roomq topic create T [--queues N] [--mode active-active|home:ROOM] | roomq topic list | roomq topic status T   [--router ADDR] [--json]';

/** `roomq topic create|list|status`. */
export async function topicCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...routerOption, queues: { type: 'string' }, mode: { type: 'string' }, json: { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
  const out = makeOutput(values.json ?? false);
  const [action, name] = positionals;
  const admin = new Admin({ router: routerList(values.router)[0]! });
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
        out.result({ topic, brokers, messagesByRoom: byRoom }, () =>
          [
            `topic ${name}: mode ${topic.mode}, ${topic.queuesPerBroker} queues per broker`,
            topic.mode === 'active-active' ? 'producers write to masters in their own room' : `every producer writes to masters in ${topic.mode.slice('home:'.length)}`,
            '',
            table(['broker', 'room', 'role', 'alive', 'writable', 'messages stored'], brokers.map((b) => [b.broker, b.room, b.role, b.alive ? 'yes' : 'no', b.writable ? 'yes' : 'no', b.messages])),
          ].join('\n'),
        );
        return;
      }
      default:
        throw new UsageError(`unknown topic action ${JSON.stringify(action ?? '')}; use create, list or status`);
    }
  } finally {
    admin.close();
  }
}
