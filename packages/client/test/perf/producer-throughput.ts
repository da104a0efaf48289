/**
 * Throughput check of the producer against an acknowledge-only fake broker in a separate process (not a
 * timed test). Run from the repo root after `npx tsc -b packages/client`:
 *
 *   npx vite-node packages/client/test/perf/producer-throughput.ts [messages] [bodyBytes]
 *
 * It prints sends/s for concurrent send() callers and for sendMany(). The broker side does no storage, so
 * the figure is an upper bound set by the SDK, grpc-js and the loopback, not by a broker.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Producer } from '../../src/index.js';
import { FakeBroker, FakeRouter } from '../fake-cluster.js';

const TOPIC = 'perf';

async function serve(): Promise<void> {
  const broker = await new FakeBroker('broker-a', { [TOPIC]: 8 }).listen();
  broker.discard = true;
  const router = await new FakeRouter([broker]).listen();
  process.stdout.write(`ROUTER ${router.endpoint}\n`);
}

async function startServer(): Promise<{ router: string; stop: () => void }> {
  const viteNode = createRequire(import.meta.url).resolve('vite-node/vite-node.mjs');
  const child = spawn(process.execPath, [viteNode, fileURLToPath(import.meta.url), '--serve'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const router = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /ROUTER (\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.on('exit', (code) => reject(new Error(`fake broker exited with ${code}`)));
  });
  return { router, stop: () => child.kill() };
}

async function measure(label: string, total: number, run: () => Promise<void>): Promise<void> {
  const started = process.hrtime.bigint();
  await run();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`${label}: ${total} messages in ${seconds.toFixed(2)} s = ${Math.round(total / seconds).toLocaleString('en')} msgs/s`);
}

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 200_000);
  const bodyBytes = Number(process.argv[3] ?? 1024);
  const server = await startServer();
  const producer = new Producer({ routers: [server.router], maxInFlightMessages: 1000, topics: [TOPIC] });
  await producer.start();
  const body = Buffer.alloc(bodyBytes, 7);
  try {
    // Warm-up: connections, JIT.
    await Promise.all(Array.from({ length: 20_000 }, () => producer.send({ topic: TOPIC, body })));

    const callers = 1000;
    await measure(`send() x ${callers} concurrent callers, ${bodyBytes} B bodies`, total, async () => {
      let left = total;
      await Promise.all(
        Array.from({ length: callers }, async () => {
          while (left-- > 0) await producer.send({ topic: TOPIC, body });
        }),
      );
    });

    await measure(`send() fire-and-collect, ${bodyBytes} B bodies`, total, async () => {
      const sends: Promise<unknown>[] = new Array(total);
      for (let i = 0; i < total; i++) sends[i] = producer.send({ topic: TOPIC, body });
      await Promise.all(sends);
    });

    await measure(`sendMany(256) sequential, ${bodyBytes} B bodies`, total, async () => {
      const batch = Array.from({ length: 256 }, () => ({ topic: TOPIC, body }));
      const concurrent = 4;
      let left = Math.ceil(total / 256);
      await Promise.all(
        Array.from({ length: concurrent }, async () => {
          while (left-- > 0) await producer.sendMany(batch);
        }),
      );
    });
    const stats = producer.stats();
    console.log(`frames: ${stats.framesSent}, messages: ${stats.sent}, messages/frame: ${(stats.sent / stats.framesSent).toFixed(1)}`);
  } finally {
    await producer.close();
    server.stop();
  }
}

if (process.argv.includes('--serve')) void serve();
else
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
