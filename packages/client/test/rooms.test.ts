import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_REBALANCE_GRACE_MS, Producer, PushConsumer, type Logger, type PushConsumerOptions, type ReceivedMessage } from '../src/index.js';
import { deadEndpoint, startCluster, uniqueName, waitFor, type FakeBroker, type FakeCluster } from './fake-cluster.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

interface LogLine {
  level: string;
  obj: Record<string, unknown>;
  msg: string;
}

/** A logger that keeps every line, for tests that assert what an operator would read. */
function captureLogger(lines: LogLine[] = []): Logger & { lines: LogLine[] } {
  const make = (bindings: Record<string, unknown>): Logger => {
    const at =
      (level: string) =>
      (obj: object, msg = ''): void =>
        void lines.push({ level, obj: { ...bindings, ...(obj as Record<string, unknown>) }, msg });
    return { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (b) => make({ ...bindings, ...b }) };
  };
  return Object.assign(make({}), { lines });
}

async function cluster(brokers: string[], queues: number, options: { routers?: number } = {}): Promise<{ c: FakeCluster; topic: string; group: string }> {
  const topic = uniqueName('rooms');
  const c = await startCluster(brokers, { [topic]: queues }, options);
  cleanups.push(c.close);
  return { c, topic, group: uniqueName('group') };
}

function producer(routers: string[], room: string, extra: Partial<ConstructorParameters<typeof Producer>[0]> = {}): Producer {
  const p = new Producer({ routers, room, retryBackoff: { initialDelayMs: 5, maxDelayMs: 50 }, ...extra });
  cleanups.push(() => p.close());
  return p;
}

function consumer(routers: string[], room: string, topic: string, group: string, options: Partial<PushConsumerOptions> & Pick<PushConsumerOptions, 'handler'>): PushConsumer {
  const pc = new PushConsumer({ routers, room, group, topic, commitIntervalMs: 50, heartbeatIntervalMs: 200, retryBackoff: { initialDelayMs: 5, maxDelayMs: 100 }, ...options });
  cleanups.push(() => pc.close());
  return pc;
}

function fill(broker: FakeBroker, topic: string, queueId: number, count: number, from = 0): void {
  for (let i = from; i < from + count; i++) broker.append(topic, queueId, `${broker.name}-${queueId}-${i}`, `body-${i}`);
}

const id = (m: ReceivedMessage): string => `${m.broker}/${m.queueId}/${m.queueOffset}`;

describe('room-aware producer', () => {
  it('sends only to the writable queues of its own room and says where each message went', async () => {
    const { c, topic } = await cluster(['broker-a@dc1', 'broker-b@dc2'], 2);
    const [a, b] = c.brokers as [FakeBroker, FakeBroker];
    const p1 = producer([c.router.endpoint], 'dc1');
    const p2 = producer([c.router.endpoint], 'dc2');
    const r1 = await p1.sendMany(Array.from({ length: 20 }, (_, i) => ({ topic, body: `dc1-${i}` })));
    const r2 = await p2.sendMany(Array.from({ length: 20 }, (_, i) => ({ topic, body: `dc2-${i}` })));
    expect(new Set(r1.map((r) => `${r.room} ${r.broker} ${r.brokerName}`))).toEqual(new Set(['dc1 broker-a broker-a/0@dc1']));
    expect(new Set(r2.map((r) => `${r.room} ${r.broker} ${r.brokerName}`))).toEqual(new Set(['dc2 broker-b broker-b/0@dc2']));
    expect(a.messages(topic)).toHaveLength(20);
    expect(b.messages(topic)).toHaveLength(20);
    expect(p1.stats()).toMatchObject({ spills: 0, spillTransitions: 0, spilledTopics: [] });
  });

  it('writes to the home room of a home:<room> topic from any room, without calling it a spill', async () => {
    const { c, topic } = await cluster(['broker-a@dc1', 'broker-b@dc2'], 2);
    c.control.setMode(topic, 'home:dc1');
    const p2 = producer([c.router.endpoint], 'dc2');
    const receipts = await p2.sendMany(Array.from({ length: 10 }, (_, i) => ({ topic, body: `${i}` })));
    expect(new Set(receipts.map((r) => r.room))).toEqual(new Set(['dc1']));
    expect(p2.stats().spillTransitions).toBe(0);
  });

  it('spills to the other room when its own has no writable queue, logging it once and counting it', async () => {
    const { c, topic } = await cluster(['broker-a@dc1', 'broker-b@dc2'], 2);
    const logger = captureLogger();
    const p = producer([c.router.endpoint], 'dc1', { logger });
    await p.send({ topic, body: 'before' });
    c.control.setPermission('broker-a', 'READ');
    await waitFor(() => p.stats().spilledTopics.includes(topic), 'the spilled route', 2_000);
    const receipts = await p.sendMany(Array.from({ length: 10 }, (_, i) => ({ topic, body: `${i}` })));
    expect(new Set(receipts.map((r) => r.room))).toEqual(new Set(['dc2']));
    // Further route changes while still spilled do not log again.
    c.control.changed('route', topic);
    c.control.changed('route', '');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const warnings = logger.lines.filter((l) => l.level === 'warn' && /no writable queue/.test(l.msg));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toBe(`no writable queue for topic ${topic} in room dc1; sending to room dc2`);
    expect(warnings[0]!.obj).toMatchObject({ topic, room: 'dc1', toRooms: ['dc2'] });
    expect(p.stats()).toMatchObject({ spills: 10, spillTransitions: 1 });

    c.control.setPermission('broker-a', 'READ_WRITE');
    await waitFor(() => p.stats().spilledTopics.length === 0, 'the route back home', 2_000);
    expect((await p.send({ topic, body: 'home again' })).room).toBe('dc1');
    expect(logger.lines.some((l) => l.level === 'info' && /again/.test(l.msg))).toBe(true);
  });

  it('follows a route change pushed over Watch within a second, with no periodic refresh', async () => {
    const { c, topic } = await cluster(['broker-a@dc1', 'broker-b@dc2'], 2);
    const p = producer([c.router.endpoint], 'dc1', { routeRefreshMs: 600_000 });
    expect((await p.send({ topic, body: 'first' })).room).toBe('dc1');
    await waitFor(() => p.stats().watching, 'the watch stream');
    const calls = c.router.getRouteCalls;
    const changedAt = Date.now();
    c.control.setMode(topic, 'home:dc2');
    let receipt = await p.send({ topic, body: 'probe' });
    while (receipt.room !== 'dc2') {
      expect(Date.now() - changedAt).toBeLessThan(1_000);
      await new Promise((resolve) => setTimeout(resolve, 10));
      receipt = await p.send({ topic, body: 'probe' });
    }
    expect(c.router.getRouteCalls).toBeGreaterThan(calls);
  });

  it('keeps a sharding key on one queue while the route is unchanged, hashing over queues sorted by (group, id)', async () => {
    const { c, topic } = await cluster(['broker-b@dc1', 'broker-a@dc1'], 4);
    const p = producer([c.router.endpoint], 'dc1');
    const receipts = await p.sendMany(Array.from({ length: 30 }, (_, i) => ({ topic, body: `${i}`, shardingKey: 'customer-9' })));
    expect(new Set(receipts.map((r) => `${r.broker}/${r.queueId}`)).size).toBe(1);
    const offsets = receipts.map((r) => r.queueOffset);
    expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
  });

  it('fails over to the next router when the first is down at start, and when it dies later', async () => {
    const { c, topic } = await cluster(['broker-a@dc1', 'broker-b@dc2'], 2, { routers: 2 });
    const [r1, r2] = c.routers as [FakeCluster['router'], FakeCluster['router']];
    const dead = await deadEndpoint();
    const p = producer([dead, r1.endpoint], 'dc1', { requestTimeoutMs: 1_000 });
    expect((await p.send({ topic, body: 'x' })).room).toBe('dc1');
    expect(p.stats().router).toBe(r1.endpoint);

    const q = producer([r1.endpoint, r2.endpoint], 'dc1', { routeRefreshMs: 600_000, requestTimeoutMs: 1_000 });
    await q.send({ topic, body: 'via r1' });
    await waitFor(() => q.stats().watching && r1.watchCount() > 0, 'a watch on r1');
    await r1.close();
    await waitFor(() => r2.watchCount() > 0, 'the watch moved to r2', 3_000);
    c.control.setMode(topic, 'home:dc2');
    const deadline = Date.now() + 2_000;
    let receipt = await q.send({ topic, body: 'probe' });
    while (receipt.room !== 'dc2' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      receipt = await q.send({ topic, body: 'probe' });
    }
    expect(receipt.room).toBe('dc2');
    expect(q.stats().router).toBe(r2.endpoint);
  });

  it('logs at info when the router places the client in another room than configured', async () => {
    const { c, topic } = await cluster(['broker-a@dc1', 'broker-b@dc2'], 1);
    c.router.placeClientsIn = 'dc2';
    const logger = captureLogger();
    const p = producer([c.router.endpoint], 'dc1', { logger });
    expect((await p.send({ topic, body: 'x' })).room).toBe('dc2');
    await p.send({ topic, body: 'y' });
    const lines = logger.lines.filter((l) => l.level === 'info' && /another room than configured/.test(l.msg));
    expect(lines).toHaveLength(1);
    expect(lines[0]!.obj).toMatchObject({ configuredRoom: 'dc1', routerRoom: 'dc2' });
  });
});

describe('push consumer with router assignment', () => {
  it('heartbeats its group and topic to the router', async () => {
    const { c, topic, group } = await cluster(['broker-a@dc1'], 1);
    const pc = consumer([c.router.endpoint], 'dc1', topic, group, { handler: () => undefined });
    await pc.start();
    await waitFor(() => c.router.heartbeats.filter((h) => h.clientId === pc.clientId).length >= 3, 'three heartbeats', 2_000);
    const beats = c.router.heartbeats.filter((h) => h.clientId === pc.clientId);
    expect(beats[0]!.consumers).toEqual([{ group, topics: [topic] }]);
    expect(beats.at(-1)!.atMs - beats.at(-3)!.atMs).toBeLessThan(1_000);
    await waitFor(() => pc.stats().heartbeats >= 3, 'three answered heartbeats');
    expect(DEFAULT_HEARTBEAT_INTERVAL_MS).toBe(1_000);
    expect(DEFAULT_REBALANCE_GRACE_MS).toBe(1_000);
  });

  it('consumes only its own room queues, and shows its assignment with rooms and brokers', async () => {
    const { c, topic, group } = await cluster(['broker-a@dc1', 'broker-b@dc2'], 2);
    const [a, b] = c.brokers as [FakeBroker, FakeBroker];
    for (const q of [0, 1]) {
      fill(a, topic, q, 10);
      fill(b, topic, q, 10);
    }
    const seen1: ReceivedMessage[] = [];
    const seen2: ReceivedMessage[] = [];
    const pc1 = consumer([c.router.endpoint], 'dc1', topic, group, { handler: (m) => void seen1.push(m) });
    const pc2 = consumer([c.router.endpoint], 'dc2', topic, group, { handler: (m) => void seen2.push(m) });
    await Promise.all([pc1.start(), pc2.start()]);
    await waitFor(() => seen1.length === 20 && seen2.length === 20, 'each room its own 20', 5_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(new Set(seen1.map((m) => `${m.room} ${m.brokerName}`))).toEqual(new Set(['dc1 broker-a/0@dc1']));
    expect(new Set(seen2.map((m) => `${m.room} ${m.brokerName}`))).toEqual(new Set(['dc2 broker-b/0@dc2']));
    const assignment = pc1.stats().assignment.map((q) => `${q.room} ${q.broker} ${q.brokerName} ${q.queueId} ${q.state}`).sort();
    expect(assignment).toEqual(['dc1 broker-a broker-a/0@dc1 0 active', 'dc1 broker-a broker-a/0@dc1 1 active']);
    expect(pc1.stats().members).toBe(2);
  });

  it('hands queues over on join and leave: the old owner commits and stops, the new one resumes there; nothing lost, nothing read twice', async () => {
    const { c, topic, group } = await cluster(['broker-a@dc1', 'broker-b@dc1'], 2);
    const [a, b] = c.brokers as [FakeBroker, FakeBroker];
    const seen: ReceivedMessage[] = [];
    const perConsumer = new Map<string, string[]>();
    const handler =
      (name: string) =>
      async (m: ReceivedMessage): Promise<void> => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        seen.push(m);
        perConsumer.set(name, [...(perConsumer.get(name) ?? []), id(m)]);
      };
    let produced = 0;
    const produce = (n: number): void => {
      for (let i = 0; i < n; i++, produced++) fill(produced % 2 === 0 ? a : b, topic, (produced >> 1) % 2, 1, Math.floor(produced / 4));
    };
    const pcA = consumer([c.router.endpoint], 'dc1', topic, group, { handler: handler('A') });
    await pcA.start();
    expect(pcA.stats().assignment).toHaveLength(4);
    produce(200);
    await waitFor(() => seen.length >= 100, 'A consuming');

    const pcB = consumer([c.router.endpoint], 'dc1', topic, group, { handler: handler('B') });
    await pcB.start();
    produce(200);
    await waitFor(() => pcA.stats().assignment.length === 2 && pcB.stats().assignment.filter((q) => q.state === 'active').length === 2, 'the queues shared', 5_000);
    expect(pcA.stats().queuesReleased).toBe(2);
    produce(200);
    await waitFor(() => seen.length >= 600 && (perConsumer.get('B')?.length ?? 0) > 0, 'both consuming', 10_000);

    await pcB.close();
    await waitFor(() => pcA.stats().assignment.length === 4, 'A owning everything again', 5_000);
    produce(200);
    await waitFor(() => new Set(seen.map(id)).size === 800, 'every message', 10_000);
    await pcA.commit();

    const ids = seen.map(id);
    expect(new Set(ids).size).toBe(produced);
    // The old owner commits what it finished before the new one reads: no message is read twice.
    expect(ids.length - new Set(ids).size).toBe(0);
    // Each queue is read in order by whoever owns it.
    for (const [, list] of perConsumer) {
      const byQueue = new Map<string, number[]>();
      for (const x of list) {
        const [broker, queue, offset] = x.split('/');
        byQueue.set(`${broker}/${queue}`, [...(byQueue.get(`${broker}/${queue}`) ?? []), Number(offset)]);
      }
      for (const offsets of byQueue.values()) expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
    }
    // Committed offsets never moved backwards, whichever consumer sent them.
    for (const broker of [a, b]) {
      for (const q of [0, 1]) {
        const sent = broker.offsetUpdates.filter((u) => u.group === group && u.queueId === q).map((u) => u.offset);
        expect(sent).toEqual([...sent].sort((x, y) => x - y));
        expect(sent.at(-1)).toBe(broker.topics.get(topic)![q]!.length);
      }
    }
  });

  it('releases a queue the router moves elsewhere and lets the other consumer pick it up from the committed offset', async () => {
    const { c, topic, group } = await cluster(['broker-a@dc1'], 2);
    const broker = c.brokers[0]!;
    fill(broker, topic, 0, 50);
    fill(broker, topic, 1, 50);
    const owner = new Map<string, string>();
    c.control.assignmentOverride = (_topic, _group, clientId) => (owner.get(clientId) ?? '').split(',').filter(Boolean);
    let gate: Promise<void> | undefined;
    let open!: () => void;
    const seenA: number[] = [];
    const seenB: number[] = [];
    const pcA = consumer([c.router.endpoint], 'dc1', topic, group, {
      rebalanceGraceMs: 800,
      handler: async (m) => {
        if (m.queueId !== 0) return;
        if (m.queueOffset === 20) {
          gate = new Promise<void>((resolve) => (open = resolve));
          await gate;
        }
        seenA.push(m.queueOffset);
      },
    });
    const pcB = consumer([c.router.endpoint], 'dc1', topic, group, { rebalanceGraceMs: 800, handler: (m) => void (m.queueId === 0 && seenB.push(m.queueOffset)) });
    owner.set(pcA.clientId, 'broker-a#0,broker-a#1');
    owner.set(pcB.clientId, '');
    await pcA.start();
    await pcB.start();
    await waitFor(() => gate !== undefined, 'A holding offset 20 in its handler');

    owner.set(pcA.clientId, 'broker-a#1');
    owner.set(pcB.clientId, 'broker-a#0');
    c.control.changed('assignment', topic, group);
    await waitFor(() => pcA.stats().queues.every((q) => q.queueId !== 0), 'A releasing queue 0', 2_000);
    // The handler in progress finishes; only then is the offset committed and B may start.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(broker.offsets.get(`${group}|${topic}|0`)).toBe(20);
    open();
    await waitFor(() => broker.offsets.get(`${group}|${topic}|0`) === 21, 'A committing the message it finished');
    await waitFor(() => seenB.length === 29, 'B reading the rest', 3_000);
    expect(seenA).toEqual(Array.from({ length: 21 }, (_, i) => i));
    expect(seenB).toEqual(Array.from({ length: 29 }, (_, i) => i + 21));
    expect(pcB.stats().assignment).toMatchObject([{ queueId: 0, state: 'active', room: 'dc1' }]);
  });

  it('joins through the second router when the first is down, and keeps heartbeating when the router it used dies', async () => {
    const { c, topic, group } = await cluster(['broker-a@dc1'], 1, { routers: 2 });
    const [r1, r2] = c.routers as [FakeCluster['router'], FakeCluster['router']];
    fill(c.brokers[0]!, topic, 0, 5);
    const seen: number[] = [];
    const dead = await deadEndpoint();
    const pc = consumer([dead, r1.endpoint, r2.endpoint], 'dc1', topic, group, { requestTimeoutMs: 1_000, handler: (m) => void seen.push(m.queueOffset) });
    await pc.start();
    await waitFor(() => seen.length === 5, 'the messages');
    await waitFor(() => r1.heartbeats.some((h) => h.clientId === pc.clientId), 'heartbeats at r1');
    await r1.close();
    await waitFor(() => r2.heartbeats.filter((h) => h.clientId === pc.clientId).length >= 2, 'heartbeats at r2', 3_000);
    fill(c.brokers[0]!, topic, 0, 5, 5);
    await waitFor(() => seen.length === 10, 'consuming on');
    expect(pc.stats().router).toBe(r2.endpoint);
  });
});
