import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Admin, Producer, replicationTrouble } from '@roomq/client';
import { RECORD_HEADER_SIZE, RECORD_MAGIC, RecordType, forEachRecord, type MessageRecord } from '@roomq/protocol';
import { runCli } from './helpers/cli.js';
import { uniqueName, waitFor } from './helpers/cluster.js';
import { rawSubscribe } from './helpers/raw-clients.js';
import { ReplicatedGroup } from '@roomq/cli';

let group: ReplicatedGroup | undefined;
afterEach(async () => {
  await group?.stop();
  group = undefined;
});

async function createTopic(router: string, topic: string, queues: number): Promise<void> {
  const admin = new Admin({ router });
  await admin.createTopic(topic, { queuesPerBroker: queues });
  admin.close();
}

/** Every message of a queue as one member serves it, read with the fast path. */
async function readQueue(endpoint: string, topic: string, queueId: number, expectAtLeast: number): Promise<MessageRecord[]> {
  const records: MessageRecord[] = [];
  await rawSubscribe(endpoint, { group: 'audit', topic, queue_id: queueId, offset: 0 }, (frames) => {
    const frame = frames[frames.length - 1]!;
    if (frame['status'] && frame['status'].code !== 20000) throw new Error(frame['status'].message);
    if (frame['records']) forEachRecord(frame['records'] as Buffer, (r) => r.type === RecordType.MESSAGE && records.push(r));
    return records.length >= expectAtLeast && frame['next_offset'] === frame['max_offset'];
  }, 30_000);
  return records;
}

async function logBytes(dataDir: string): Promise<Buffer> {
  const dir = join(dataDir, 'commitlog');
  const files = (await readdir(dir)).filter((f) => /^\d{20}$/.test(f)).sort();
  const segments = await Promise.all(files.map((f) => readFile(join(dir, f))));
  return Buffer.concat(segments.map((segment, i) => segment.subarray(0, recordsEnd(segment, files[i]!))));
}

/**
 * Where a segment's records end. Its file may run on in zeros past them (a replica writes in whole 4 KiB blocks,
 * a master preallocates); anything else there is not a log this test accepts.
 */
function recordsEnd(segment: Buffer, name: string): number {
  let at = 0;
  while (segment.length - at >= RECORD_HEADER_SIZE && segment.readUInt16BE(at + 4) === RECORD_MAGIC) {
    const size = segment.readUInt32BE(at);
    if (size < RECORD_HEADER_SIZE || size > segment.length - at) break;
    at += size;
  }
  if (!segment.subarray(at).every((byte) => byte === 0)) throw new Error(`segment ${name} holds bytes past its last whole record that are not zeros`);
  return at;
}

/** Sends keyed messages, at most 100 in flight, until stopped; keeps each acknowledged key's placement. */
function startPump(producer: Producer, topic: string, bodyBytes = 0) {
  const acked = new Map<string, { queueId: number; queueOffset: number }>();
  let failures = 0;
  let stopped = false;
  let i = 0;
  const inFlight = new Set<Promise<void>>();
  const running = (async () => {
    while (!stopped) {
      if (inFlight.size < 100) {
        const key = `k-${i++}`;
        const body = bodyBytes > 0 ? `${key}-${'b'.repeat(bodyBytes)}` : key;
        const p: Promise<void> = producer
          .send({ topic, keys: [key], body })
          .then((r) => void acked.set(key, { queueId: r.queueId, queueOffset: r.queueOffset }), () => void failures++)
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
      } else await Promise.race(inFlight);
    }
    await Promise.allSettled([...inFlight]);
  })();
  return {
    acked,
    failures: () => failures,
    inFlight: () => inFlight.size,
    async stop(): Promise<void> {
      stopped = true;
      await running;
    },
  };
}

/** Every acknowledged key is on the replica at `endpoint`, at the queue offset its acknowledgement gave. */
async function expectAllOnReplica(endpoint: string, topic: string, queues: number, acked: Map<string, { queueId: number; queueOffset: number }>): Promise<void> {
  const onReplica = new Map<string, MessageRecord>();
  for (let queueId = 0; queueId < queues; queueId++) {
    const expected = [...acked.values()].filter((r) => r.queueId === queueId).length;
    for (const r of await readQueue(endpoint, topic, queueId, expected)) onReplica.set(r.keys[0]!, r);
  }
  for (const [key, receipt] of acked) {
    const r = onReplica.get(key);
    expect(r, `acknowledged ${key} is missing on the replica`).toBeDefined();
    expect({ queueId: r!.queueId, queueOffset: r!.queueOffset }).toEqual(receipt);
  }
}

describe('chain replication across rooms', () => {
  it('sync:1: kill -9 the master while producing, and every acknowledged message is on the replica in the other room', async () => {
    group = await ReplicatedGroup.start({ members: [{ room: 'dc1' }, { room: 'dc2', viaLink: true }], replicationMode: 'sync:1' });
    const topic = uniqueName('sync');
    await createTopic(group.routerEndpoint, topic, 2);
    const producer = new Producer({ routers: [group.routerEndpoint], maxAttempts: 1, sendTimeoutMs: 3000 });
    await producer.start();
    const pump = startPump(producer, topic);
    await waitFor(() => pump.acked.size >= 3000, '3000 acknowledged sync:1 sends', 30_000);
    expect(pump.inFlight()).toBeGreaterThan(0);
    await group.kill(0);
    await waitFor(() => pump.failures() > 0, 'the producer to notice the master is gone');
    await pump.stop();
    await producer.close();
    await expectAllOnReplica(group.endpoint(1), topic, 2, pump.acked);
  }, 120_000);

  it('sync:1: kill -9 the replica while producing; it comes back on its own log, holding every acknowledged message', async () => {
    // Segments of 256 KiB: the replica's directly written log rolls several times, before and after the kill.
    group = await ReplicatedGroup.start({ members: [{ room: 'dc1' }, { room: 'dc2', viaLink: true }], replicationMode: 'sync:1', replicationTimeoutMs: 1000, segmentSizeBytes: 256 * 1024 });
    const topic = uniqueName('replica-kill');
    await createTopic(group.routerEndpoint, topic, 2);
    const producer = new Producer({ routers: [group.routerEndpoint], maxAttempts: 1, sendTimeoutMs: 3000 });
    await producer.start();
    const pump = startPump(producer, topic, 300);
    await waitFor(() => pump.acked.size >= 2000, '2000 acknowledged sync:1 sends', 30_000);
    await group.kill(1);
    // With its only replica gone, a sync:1 group acknowledges nothing: sends fail with a timeout, none is acked.
    await waitFor(() => pump.failures() > 0, 'sends to fail while the replica is down', 10_000);
    const ackedWhileDown = pump.acked.size;
    await group.restart(1);
    await waitFor(() => pump.acked.size >= ackedWhileDown + 2000, '2000 more acknowledged sends after the restart', 30_000);
    await pump.stop();
    await producer.close();
    await expectAllOnReplica(group.endpoint(1), topic, 2, pump.acked);
    const master = await logBytes(group.dataDir(0));
    await waitFor(async () => (await logBytes(group!.dataDir(1))).equals(master), 'the replica to hold the master log byte for byte', 20_000);
  }, 120_000);

  it('async chain of three: after the producer stops, every member holds exactly the master log', async () => {
    group = await ReplicatedGroup.start({ members: [{ room: 'dc1' }, { room: 'dc1' }, { room: 'dc2', viaLink: true }], replicationMode: 'async', segmentSizeBytes: 256 * 1024 });
    const topic = uniqueName('async');
    await createTopic(group.routerEndpoint, topic, 4);
    const producer = new Producer({ routers: [group.routerEndpoint] });
    await producer.start();
    for (let batch = 0; batch < 10; batch++) {
      await producer.sendMany(Array.from({ length: 500 }, (_, n) => ({ topic, keys: [`a-${batch}-${n}`], body: Buffer.alloc(600, n) })));
    }
    await producer.close();
    const master = await logBytes(group.dataDir(0));
    expect(master.length).toBeGreaterThan(3 * 256 * 1024); // several segments
    for (const member of [1, 2]) {
      await waitFor(async () => (await logBytes(group!.dataDir(member))).length >= master.length, `member ${member} to catch up`, 20_000);
      const copy = await logBytes(group.dataDir(member));
      expect(copy.length).toBe(master.length);
      expect(copy.equals(master), `member ${member} differs from the master`).toBe(true);
    }
  }, 120_000);

  it('a cut room link: an async group keeps taking writes, and its replica catches up when the link heals', async () => {
    group = await ReplicatedGroup.start({ members: [{ room: 'dc1' }, { room: 'dc2', viaLink: true }], replicationMode: 'async' });
    const topic = uniqueName('cut-async');
    await createTopic(group.routerEndpoint, topic, 1);
    const producer = new Producer({ routers: [group.routerEndpoint], maxAttempts: 1 });
    await producer.start();
    await group.links.get(1)!.cut({ mode: 'blackhole' });
    const during = await producer.sendMany(Array.from({ length: 200 }, (_, n) => ({ topic, keys: [`during-${n}`], body: 'x' })));
    expect(during).toHaveLength(200);
    const admin = new Admin({ router: group.routerEndpoint });
    const behind = await waitFor(async () => {
      const master = (await admin.clusterStatus()).brokers.find((b) => b.name === 'broker-a/0@dc1');
      const lag = master?.replication.find((r) => r.member === 'broker-a/1@dc2');
      return lag && lag.lagBytes > 0 ? lag : undefined;
    }, 'the master to report the replica behind', 10_000);
    expect(behind.lagBytes).toBeGreaterThan(0);
    // The replica says why it is behind: its stream went silent, and it keeps reconnecting (idleTimeoutMs, 5 s).
    const stuck = await waitFor(async () => {
      const replica = (await admin.clusterStatus()).brokers.find((b) => b.name === 'broker-a/1@dc2');
      return replica && replicationTrouble(replica)?.includes('nothing from the upstream') ? replica : undefined;
    }, 'the replica to report why it is behind', 20_000);
    expect(stuck.replication.find((r) => r.member === 'broker-a/1@dc2')?.status).toBe('connecting');
    const shown = await runCli(['cluster', 'status', '--router', group.routerEndpoint]);
    expect(shown.stdout).toMatch(/REPLICATION broker-a\/1@dc2: replication from \S+ is reconnecting after: nothing from the upstream/);
    await group.links.get(1)!.restore();
    await waitFor(async () => {
      const master = (await admin.clusterStatus()).brokers.find((b) => b.name === 'broker-a/0@dc1');
      return master?.replication.find((r) => r.member === 'broker-a/1@dc2')?.lagBytes === 0;
    }, 'replication lag to drain to zero after the link heals', 30_000);
    expect((await readQueue(group.endpoint(1), topic, 0, 200)).map((r) => r.keys[0])).toEqual(during.map((_, n) => `during-${n}`));
    admin.close();
    await producer.close();
  }, 120_000);

  it('a cut room link: sync:1 reports timeouts clearly, and lag drains after the link heals', async () => {
    group = await ReplicatedGroup.start({ members: [{ room: 'dc1' }, { room: 'dc2', viaLink: true }], replicationMode: 'sync:1', replicationTimeoutMs: 500 });
    const topic = uniqueName('cut');
    await createTopic(group.routerEndpoint, topic, 1);
    const producer = new Producer({ routers: [group.routerEndpoint], maxAttempts: 1 });
    await producer.start();
    await producer.send({ topic, body: 'before the cut' });
    await group.links.get(1)!.cut({ mode: 'blackhole' });
    const err = await producer.send({ topic, body: 'during the cut' }).then(() => undefined, (e: unknown) => e as { code: string; message: string });
    expect(err?.code).toBe('REPLICATION_TIMEOUT');
    expect(err?.message).toMatch(/broker-a\/1@dc2/);
    expect(err?.message).toMatch(/stored on the master but not yet on 1 replica/);
    await group.links.get(1)!.restore();
    // After healing, sync writes succeed again and the replica catches up.
    await waitFor(async () => producer.send({ topic, body: 'after' }).then(() => true, () => false), 'sync writes to succeed after the link heals', 20_000);
    const admin = new Admin({ router: group.routerEndpoint });
    await waitFor(async () => {
      const master = (await admin.clusterStatus()).brokers.find((b) => b.name === 'broker-a/0@dc1');
      const lag = master?.replication.find((r) => r.member === 'broker-a/1@dc2');
      return lag !== undefined && lag.lagBytes === 0;
    }, 'replication lag to drain to zero', 20_000);
    admin.close();
    await producer.close();
  }, 120_000);
});
