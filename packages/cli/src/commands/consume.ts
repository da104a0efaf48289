import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { PushConsumer } from '@roomq/client';
import { formatRate, makeOutput, round3, table } from '../output.js';
import { routerList, routerOption } from '../routers.js';
import { testBodyIntact } from '../test-body.js';
import { intOption, requireOption } from '../usage-error.js';

export const consumeUsage =
  'roomq consume [--router ADDR] --group G --topic T [--count N] [--timeout-ms MS] [--from first|last] [--room R] [--dump FILE] [--json]';

/** Default: stop after this long without a new message. */
const DEFAULT_IDLE_TIMEOUT_MS = 10_000;

/**
 * `roomq consume`: consumes a topic as group G until N messages arrived or none arrived for --timeout-ms,
 * commits offsets, and reports received, distinct keys, duplicates and bodies that fail their check.
 */
export async function consumeCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...routerOption,
      group: { type: 'string' },
      topic: { type: 'string' },
      count: { type: 'string' },
      'timeout-ms': { type: 'string' },
      from: { type: 'string' },
      room: { type: 'string' },
      dump: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const out = makeOutput(values.json ?? false);
  const group = requireOption(values.group, '--group');
  const topic = requireOption(values.topic, '--topic');
  const count = values.count === undefined ? Number.POSITIVE_INFINITY : intOption(values.count, '--count');
  const idleMs = intOption(values['timeout-ms'], '--timeout-ms', DEFAULT_IDLE_TIMEOUT_MS);
  const startFrom = values.from === 'last' ? 'last' : 'first';

  const keys: string[] = [];
  const distinct = new Set<string>();
  const byBroker = new Map<string, number>();
  const byRoom = new Map<string, number>();
  let received = 0;
  let mismatched = 0;
  let lastArrival = performance.now();
  let firstArrival: number | undefined;
  let finish: (() => void) | undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));

  const consumer = new PushConsumer({
    routers: routerList(values.router),
    group,
    topic,
    startFrom,
    ...(values.room ? { room: values.room } : {}),
    handler: (message) => {
      received++;
      lastArrival = performance.now();
      firstArrival ??= lastArrival;
      const key = message.keys[0] ?? message.messageId;
      keys.push(key);
      distinct.add(key);
      if (message.keys[0] !== undefined && !testBodyIntact(key, message.body)) mismatched++;
      byBroker.set(message.brokerName, (byBroker.get(message.brokerName) ?? 0) + 1);
      byRoom.set(message.room, (byRoom.get(message.room) ?? 0) + 1);
      if (received % 10_000 === 0) out.progress(`${received} received`);
      if (received >= count) finish?.();
    },
  });
  const started = performance.now();
  await consumer.start();
  const idle = setInterval(() => {
    if (performance.now() - lastArrival >= idleMs) finish?.();
  }, Math.min(200, idleMs));
  await finished;
  clearInterval(idle);
  const ended = performance.now();
  await consumer.close();
  if (values.dump) await writeFile(values.dump, keys.length > 0 ? `${keys.join('\n')}\n` : '');

  // From the first message to the last: the idle wait that ends the command is not consuming time.
  const activeSeconds = firstArrival === undefined ? 0 : (lastArrival - firstArrival) / 1000;
  const summary = {
    topic,
    group,
    received,
    distinctKeys: distinct.size,
    duplicates: received - distinct.size,
    bodiesMismatched: mismatched,
    seconds: round3((ended - started) / 1000),
    ratePerSec: activeSeconds > 0 ? Math.round(received / activeSeconds) : 0,
    byRoom: Object.fromEntries(byRoom),
    byBroker: Object.fromEntries(byBroker),
    stoppedBy: received >= count ? 'count' : 'idle-timeout',
  };
  out.result(summary, () =>
    [
      `consumed ${topic} as ${group}: ${received} received, ${summary.distinctKeys} distinct keys, ${summary.duplicates} duplicates, ${mismatched} bodies mismatched (${formatRate(summary.ratePerSec)})`,
      `stopped by ${summary.stoppedBy === 'count' ? `reaching --count ${count}` : `${idleMs} ms without a new message`}`,
      '',
      table(['served from room', 'by broker', 'messages'], [...byBroker].map(([b, n]) => [b.split('@')[1] ?? '', b, n])),
      ...(values.dump ? ['', `received keys written to ${values.dump}`] : []),
    ].join('\n'),
  );
  if (mismatched > 0) process.exitCode = 1;
}
