import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin, Producer } from '@roomq/client';
import { RecordType, decodeRecord, forEachRecord, readRecordHeader, type MessageRecord } from '@roomq/protocol';
import { runCli } from './helpers/cli.js';
import { TestCluster, uniqueName, waitFor } from './helpers/cluster.js';
import { rawSubscribe } from './helpers/raw-clients.js';

async function segmentFiles(dataDir: string): Promise<string[]> {
  const dir = join(dataDir, 'commitlog');
  return (await readdir(dir)).filter((f) => /^\d{20}$/.test(f)).sort().map((f) => join(dir, f));
}

/** Every record of queue 0 readable from offset 0, as far as the broker serves it, and the final status. */
async function readQueue0(endpoint: string, topic: string): Promise<{ records: MessageRecord[]; status: Record<string, any> | undefined }> {
  const records: MessageRecord[] = [];
  let status: Record<string, any> | undefined;
  await rawSubscribe(endpoint, { group: 'audit', topic, queue_id: 0, offset: 0 }, (frames) => {
    const frame = frames[frames.length - 1]!;
    if (frame['status'] && frame['status'].code !== 20000) {
      status = frame['status'];
      return true;
    }
    if (frame['records']) forEachRecord(frame['records'] as Buffer, (r) => r.type === RecordType.MESSAGE && records.push(r));
    return frame['next_offset'] === frame['max_offset'];
  });
  return { records, status };
}

describe('torn and corrupt commit logs', () => {
  let cluster: TestCluster;
  let topic: string;
  let dataDir: string;
  const COUNT = 300;

  beforeAll(async () => {
    cluster = await TestCluster.start({ autoCreateTopics: false });
    dataDir = join(cluster.dir, 'broker-a');
    topic = uniqueName('torn');
    const admin = new Admin({ router: cluster.routerEndpoint });
    await admin.createTopic(topic, { queuesPerBroker: 1 });
    admin.close();
    const producer = new Producer({ routers: [cluster.routerEndpoint] });
    await producer.start();
    await producer.sendMany(Array.from({ length: COUNT }, (_, i) => ({ topic, keys: [`k-${i}`], body: `body-${i}`.repeat(20) })));
    await producer.close();
  });
  afterAll(async () => cluster?.stop());

  it('cuts back a torn tail and starts', async () => {
    await cluster.killBroker();
    const [last] = (await segmentFiles(dataDir)).slice(-1);
    const bytes = await readFile(last!);
    // Half of a copy of the first record at the end: what a write cut by a crash leaves.
    const header = readRecordHeader(bytes, 0);
    if (typeof header === 'string') throw new Error(header);
    await appendFile(last!, bytes.subarray(0, Math.floor(header.totalLength / 2)));

    const handle = await cluster.restartBroker();
    const { records, status } = await readQueue0(handle.ready.endpoint, topic);
    expect(status).toBeUndefined();
    expect(records.map((r) => r.keys[0])).toEqual(Array.from({ length: COUNT }, (_, i) => `k-${i}`));
    const log = await readFile(handle.logPath, 'utf8');
    expect(log).toMatch(/torn/i);

    // The broker takes writes again after the cut, at the next queue offset.
    const producer = new Producer({ routers: [cluster.routerEndpoint] });
    await producer.start();
    const receipt = await producer.send({ topic, keys: ['after-torn'], body: 'x' });
    await producer.close();
    expect(receipt.queueOffset).toBe(COUNT);
  });

  it('detects a flipped byte in the middle, reports it and never serves that record', async () => {
    await cluster.stopBroker();
    const [first] = await segmentFiles(dataDir);
    const bytes = await readFile(first!);
    // Find the 100th message record and flip a byte of its body.
    let at = 0;
    let victim: MessageRecord | undefined;
    for (let n = 0; n < 100; n++) {
      const record = decodeRecord(bytes, at);
      if (record.type === RecordType.MESSAGE) victim = record;
      at += record.totalLength;
    }
    const victimAt = victim!.physicalOffset;
    bytes[victimAt + victim!.totalLength - 3]! ^= 0xff;
    await writeFile(first!, bytes);

    const handle = await cluster.restartBroker();
    const { records, status } = await readQueue0(handle.ready.endpoint, topic);
    expect(status?.code).toBe(40016); // MESSAGE_CORRUPTED
    expect(status?.message).toMatch(new RegExp(`${victim!.queueOffset}|${victimAt}`));
    // Everything before the corrupt record is served, the corrupt one never.
    expect(records.map((r) => r.queueOffset)).toEqual(Array.from({ length: victim!.queueOffset }, (_, i) => i));
    const log = await readFile(handle.logPath, 'utf8');
    expect(log).toMatch(/corrupt/i);

    // Operators see it in the cluster status, with the range, until it is restored.
    const admin = new Admin({ router: cluster.routerEndpoint });
    const broker = await waitFor(async () => (await admin.clusterStatus()).brokers.find((b) => b.corruptRanges.length > 0), 'the corrupt range in cluster status');
    admin.close();
    expect(broker.corruptRanges[0]!.start).toBe(victimAt);
    const shown = await runCli(['cluster', 'status', '--router', cluster.routerEndpoint]);
    expect(shown.stdout).toMatch(new RegExp(`CORRUPT broker-a/0@dc1: log bytes \\[${victimAt}, `));
  });
});
