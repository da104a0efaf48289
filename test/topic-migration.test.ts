import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin, Producer, PushConsumer } from '@roomq/client';
import { runCli } from './helpers/cli.js';
import { uniqueName, waitFor } from './helpers/cluster.js';
import { TwoRooms, type ControlStoreConfig } from './helpers/two-rooms.js';

type Room = 'dc1' | 'dc2';

/**
 * Load in both rooms: producers of two applications (producer groups) send per-key sequences (each key's next
 * message after the previous was acknowledged), a consumer group reads in both rooms. What a user checks: every
 * acknowledged message arrives, each key's messages arrive in order (redeliveries counted, never a new message
 * before an older one), and where each producer group writes.
 */
class Load {
  readonly acked = new Map<string, number>(); // key → last acknowledged seq
  readonly roomsByGroup = new Map<string, Set<string>>(); // producer group → rooms written to, recent
  readonly delivered = new Map<string, number>(); // key → highest seq delivered in order
  readonly violations: string[] = [];
  duplicates = 0;
  received = 0;
  failed = 0;
  private stopped = false;
  private readonly loops: Array<Promise<void>> = [];
  readonly producers: Producer[] = [];
  readonly consumers: PushConsumer[] = [];

  constructor(
    private readonly rooms: TwoRooms,
    private readonly topic: string,
  ) {}

  async startConsumers(group: string): Promise<void> {
    for (const room of ['dc1', 'dc2'] as Room[]) {
      const consumer = new PushConsumer({
        routers: this.rooms.routersFor(room),
        room,
        group,
        topic: this.topic,
        startFrom: 'first',
        commitIntervalMs: 100,
        assignmentRefreshMs: 2000,
        handler: (m) => this.onMessage(m.body.toString()),
      });
      await consumer.start();
      this.consumers.push(consumer);
    }
  }

  startProducer(room: Room, group: string, keys: number): void {
    const producer = new Producer({ routers: this.rooms.routersFor(room), room, producerGroup: group, topics: [this.topic] });
    this.producers.push(producer);
    const seen = new Set<string>();
    this.roomsByGroup.set(`${group}@${room}`, seen);
    for (let k = 0; k < keys; k++) {
      const key = `${group}-${room}-k${k}`;
      this.loops.push(
        (async () => {
          for (let seq = 0; !this.stopped; seq++) {
            try {
              const receipt = await producer.send({ topic: this.topic, shardingKey: key, keys: [key], body: `${key}:${seq}` });
              this.acked.set(key, seq);
              seen.add(receipt.room);
            } catch {
              this.failed++;
              seq--;
              await new Promise((r) => setTimeout(r, 50));
            }
            await new Promise((r) => setTimeout(r, 4));
          }
        })(),
      );
    }
  }

  /** Rooms the producers of `group@room` wrote to since the last call. */
  takeRooms(groupAtRoom: string): string[] {
    const seen = this.roomsByGroup.get(groupAtRoom)!;
    const out = [...seen].sort();
    seen.clear();
    return out;
  }

  private onMessage(body: string): void {
    this.received++;
    const at = body.lastIndexOf(':');
    const key = body.slice(0, at);
    const seq = Number(body.slice(at + 1));
    const last = this.delivered.get(key) ?? -1;
    if (seq <= last) this.duplicates++;
    else if (seq === last + 1) this.delivered.set(key, seq);
    else {
      this.violations.push(`${key}: got ${seq} after ${last}`);
      this.delivered.set(key, seq);
    }
  }

  async stopProducers(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
    await Promise.all(this.producers.map((p) => p.close()));
  }

  allDelivered(): boolean {
    for (const [key, seq] of this.acked) if ((this.delivered.get(key) ?? -1) < seq) return false;
    return true;
  }

  lost(): number {
    let lost = 0;
    for (const [key, seq] of this.acked) lost += Math.max(0, seq - (this.delivered.get(key) ?? -1));
    return lost;
  }

  async close(): Promise<void> {
    await Promise.all(this.consumers.map((c) => c.close()));
  }
}

const REDIS_URL = process.env['ROOMQ_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

describe.each([
  ['file', undefined],
  ['redis', (): ControlStoreConfig => ({ kind: 'redis', url: REDIS_URL, keyPrefix: `roomq-test:${uniqueName('mig')}:` })],
] as const)('topic migration under load (%s control store)', (kind, controlStore) => {
  let rooms: TwoRooms;
  beforeAll(async () => {
    rooms = await TwoRooms.start(controlStore ? { controlStore } : {});
  });
  afterAll(async () => rooms?.stop());

  async function createTopic(): Promise<string> {
    const topic = uniqueName('mig');
    const admin = new Admin({ router: rooms.router('dc1') });
    await admin.createTopic(topic, { queuesPerBroker: 2, mode: 'home:dc1' });
    await admin.close();
    return topic;
  }

  const cli = (args: string[]) => runCli([...args, '--router', rooms.router('dc1')], { timeoutMs: 60_000 });

  it('moves producer groups one at a time, then all: nothing lost, per-key order kept, status readable', async () => {
    const topic = await createTopic();
    const load = new Load(rooms, topic);
    await load.startConsumers('cg');
    load.startProducer('dc1', 'app-a', 5);
    load.startProducer('dc2', 'app-a', 5);
    load.startProducer('dc2', 'app-b', 5);
    await waitFor(() => load.received > 300, 'load to flow', 15_000);
    expect(load.takeRooms('app-a@dc2')).toEqual(['dc1']);

    const dry = await cli(['topic', 'migrate', topic, '--to', 'active-active', '--groups', 'app-a,cg', '--dry-run', '--json']);
    expect(dry.json).toMatchObject({ dryRun: true, plan: { phase: 'preparing', to: 'active-active', groups: ['app-a', 'cg'] } });

    const first = await cli(['topic', 'migrate', topic, '--to', 'active-active', '--groups', 'app-a,cg', '--yes', '--json', '--timeout-ms', '20000']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.json).toMatchObject({ outcome: 'partial', migration: { phase: 'draining', movedGroups: ['app-a', 'cg'] } });
    load.takeRooms('app-a@dc2');
    load.takeRooms('app-b@dc2');
    await waitFor(() => load.roomsByGroup.get('app-a@dc2')!.size > 0 && load.roomsByGroup.get('app-b@dc2')!.size > 0, 'sends after the switch', 5000);
    expect(load.takeRooms('app-a@dc2')).toEqual(['dc2']); // admitted: its own room
    expect(load.takeRooms('app-b@dc2')).toEqual(['dc1']); // not admitted: the home room

    const status = await cli(['topic', 'status', topic, '--json']);
    expect(status.json).toMatchObject({ migration: { migration: { phase: 'draining' }, oldRoute: { producerGroups: ['app-b'], consumerGroups: [] } } });
    const human = await cli(['topic', 'status', topic]);
    expect(human.stdout).toMatch(/migration home:dc1 → active-active: draining/);
    expect(human.stdout).toMatch(/still on the old route: producer groups app-b/);
    expect(human.stdout).toMatch(/backlog dc1/);

    const rest = await cli(['topic', 'admit', topic, '--groups', '*', '--yes', '--json']);
    expect(rest.code, rest.stderr).toBe(0);
    expect(rest.json).toMatchObject({ outcome: 'done', migration: { phase: 'done' } });
    load.takeRooms('app-b@dc2');
    await waitFor(() => load.roomsByGroup.get('app-b@dc2')!.size > 0, 'app-b sends after done', 5000);
    expect(load.takeRooms('app-b@dc2')).toEqual(['dc2']);
    expect((await cli(['topic', 'list', '--json'])).json).toMatchObject({ topics: expect.arrayContaining([expect.objectContaining({ name: topic, mode: 'active-active' })]) });

    await new Promise((r) => setTimeout(r, 1000));
    await load.stopProducers();
    await waitFor(() => load.allDelivered(), 'every acknowledged message to be consumed', 30_000);
    await load.close();
    const acked = [...load.acked.values()].reduce((n, s) => n + s + 1, 0);
    console.log(`[${kind}] migration under load: acked ${acked}, received ${load.received}, duplicates ${load.duplicates}, lost ${load.lost()}, order violations ${load.violations.length}, send retries ${load.failed}`);
    expect(load.lost()).toBe(0);
    expect(load.violations).toEqual([]);

    const audit = await runCli(['audit', '--json', '--router', rooms.router('dc2')]);
    expect(JSON.stringify(audit.json)).toMatch(/migration-finish/);
  });

  it.skipIf(kind === 'redis')('rolls back under load: producers return to the home room, nothing lost, per-key order kept', async () => {
    const topic = await createTopic();
    const load = new Load(rooms, topic);
    await load.startConsumers('cg2');
    load.startProducer('dc1', 'app-a', 5);
    load.startProducer('dc2', 'app-a', 5);
    await waitFor(() => load.received > 300, 'load to flow', 15_000);

    // Stops half-way (1 ms to wait): producers switched, the switch not yet settled or drained.
    const moved = await cli(['topic', 'migrate', topic, '--to', 'active-active', '--yes', '--json', '--timeout-ms', '1']);
    expect(moved.json).toMatchObject({ error: { code: 'TIMEOUT' } });
    load.takeRooms('app-a@dc2');
    await waitFor(() => load.roomsByGroup.get('app-a@dc2')!.has('dc2'), 'app-a in dc2 to write to dc2', 5000);

    const back = await cli(['topic', 'migrate', topic, '--rollback', '--yes', '--json']);
    expect(back.code, back.stderr).toBe(0);
    expect(back.json).toMatchObject({ outcome: 'rolled-back', migration: { phase: 'rolled-back', rollingBack: true } });
    load.takeRooms('app-a@dc2');
    await waitFor(() => load.roomsByGroup.get('app-a@dc2')!.size > 0, 'sends after the rollback', 5000);
    expect(load.takeRooms('app-a@dc2')).toEqual(['dc1']);

    await new Promise((r) => setTimeout(r, 1000));
    await load.stopProducers();
    await waitFor(() => load.allDelivered(), 'every acknowledged message to be consumed', 30_000);
    await load.close();
    const acked = [...load.acked.values()].reduce((n, s) => n + s + 1, 0);
    console.log(`rollback under load: acked ${acked}, received ${load.received}, duplicates ${load.duplicates}, lost ${load.lost()}, order violations ${load.violations.length}, send retries ${load.failed}`);
    expect(load.lost()).toBe(0);
    expect(load.violations).toEqual([]);
    const admin = new Admin({ router: rooms.router('dc2') });
    expect((await admin.listTopics()).find((t) => t.name === topic)?.mode).toBe('home:dc1');
    await admin.close();
  });

  it.skipIf(kind === 'redis')('runs a batch plan: dry run first, then at most N at a time', async () => {
    const topics = [await createTopic(), await createTopic(), await createTopic()];
    const { writeFile } = await import('node:fs/promises');
    const file = `${rooms.dir}/plan-${Date.now()}.json`;
    await writeFile(file, JSON.stringify({ topics: Object.fromEntries(topics.map((t) => [t, 'active-active'])) }));
    const dry = await cli(['migrate', 'plan', '--file', file, '--dry-run', '--json']);
    expect(dry.json).toMatchObject({ dryRun: true, maxParallel: 2, topics: topics.map((t) => ({ topic: t, outcome: 'planned' })) });
    const run = await cli(['migrate', 'plan', '--file', file, '--max-parallel', '2', '--yes', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json).toMatchObject({ failed: 0 });
    const admin = new Admin({ router: rooms.router('dc1') });
    const modes = (await admin.listTopics()).filter((t) => topics.includes(t.name)).map((t) => t.mode);
    expect(modes).toEqual(['active-active', 'active-active', 'active-active']);
    await admin.close();
  });
});
