import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { Producer } from '@roomq/client';
import { toRoomqError } from '@roomq/protocol';
import { formatRate, makeOutput, percentiles, round3, table } from '../output.js';
import { routerList, routerOption } from '../routers.js';
import { testBody } from '../test-body.js';
import { intOption, requireOption } from '../usage-error.js';

export const produceUsage =
  'roomq produce [--router ADDR] --topic T --count N --size BYTES [--key-prefix P] [--in-flight N] [--room R] [--dump FILE] [--json]';

/** `roomq produce`: sends N messages keyed P-0…P-(N-1) and reports what was acknowledged, how fast. */
export async function produceCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...routerOption,
      topic: { type: 'string' },
      count: { type: 'string' },
      size: { type: 'string' },
      'key-prefix': { type: 'string' },
      'in-flight': { type: 'string' },
      room: { type: 'string' },
      dump: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const out = makeOutput(values.json ?? false);
  const topic = requireOption(values.topic, '--topic');
  const count = intOption(values.count, '--count');
  const size = intOption(values.size, '--size', 1024);
  const prefix = values['key-prefix'] ?? 'k';
  const inFlight = Math.max(1, intOption(values['in-flight'], '--in-flight', 1000));
  const producer = new Producer({ routers: routerList(values.router), maxInFlightMessages: inFlight, ...(values.room ? { room: values.room } : {}) });
  await producer.start();

  const latencies: number[] = [];
  const acked: string[] = [];
  const errors = new Map<string, { count: number; example: string }>();
  const byBroker = new Map<string, number>();
  const byRoom = new Map<string, number>();
  let next = 0;
  let done = 0;
  const started = performance.now();

  // A window of `inFlight` sends; each finished send starts the next, so the producer's bound is never exceeded.
  await new Promise<void>((resolve) => {
    if (count === 0) resolve();
    const launch = (): void => {
      const i = next++;
      const key = `${prefix}-${i}`;
      const t0 = performance.now();
      producer
        .send({ topic, keys: [key], body: testBody(key, size) })
        .then(
          (receipt) => {
            latencies.push(performance.now() - t0);
            acked.push(key);
            byBroker.set(receipt.brokerName, (byBroker.get(receipt.brokerName) ?? 0) + 1);
            byRoom.set(receipt.room, (byRoom.get(receipt.room) ?? 0) + 1);
          },
          (err: unknown) => {
            const error = toRoomqError(err);
            const entry = errors.get(error.code) ?? { count: 0, example: error.message };
            entry.count++;
            errors.set(error.code, entry);
          },
        )
        .finally(() => {
          done++;
          if (done % 10_000 === 0) out.progress(`${done}/${count} sent`);
          if (next < count) launch();
          else if (done === count) resolve();
        });
    };
    for (let i = 0; i < Math.min(inFlight, count); i++) launch();
  });
  const seconds = (performance.now() - started) / 1000;
  const stats = producer.stats();
  await producer.close();
  if (values.dump) await writeFile(values.dump, acked.length > 0 ? `${acked.join('\n')}\n` : '');

  const failed = count - acked.length;
  const summary = {
    topic,
    sent: count,
    acknowledged: acked.length,
    failed,
    seconds: round3(seconds),
    ratePerSec: Math.round(acked.length / seconds),
    bodyBytes: size,
    latencyMs: percentiles(latencies),
    byRoom: Object.fromEntries(byRoom),
    byBroker: Object.fromEntries(byBroker),
    spills: stats.spills,
    errors: Object.fromEntries(errors),
  };
  out.result(summary, () => {
    const lines = [
      `produced to ${topic}: ${summary.acknowledged} acknowledged, ${failed} failed of ${count} in ${summary.seconds} s (${formatRate(summary.ratePerSec)})`,
      `latency ms: p50 ${summary.latencyMs['p50']}  p90 ${summary.latencyMs['p90']}  p99 ${summary.latencyMs['p99']}  p99.9 ${summary.latencyMs['p99.9']}  max ${summary.latencyMs['max']}`,
      '',
      table(['stored in room', 'on broker', 'messages'], [...byBroker].map(([b, n]) => [b.split('@')[1] ?? '', b, n])),
    ];
    if (summary.spills > 0) lines.push('', `the producer's own room had no writable queue ${summary.spills} time(s); those messages went to another room (see byRoom)`);
    for (const [code, e] of errors) lines.push('', `${e.count} failed with ${code}: ${e.example}`);
    if (values.dump) lines.push('', `acknowledged keys written to ${values.dump}`);
    return lines.join('\n');
  });
  if (failed > 0) process.exitCode = 1;
}
