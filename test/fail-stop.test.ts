import { symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin, Producer, PushConsumer, type SendReceipt } from '@roomq/client';
import { TestCluster, uniqueName, waitFor } from './helpers/cluster.js';

const SEGMENT = 64 * 1024;

/**
 * The disk fills up: the next commit-log segment is a symlink to /dev/full, so the roll gets ENOSPC from the
 * kernel. The producer must get a clear error and nothing unstored may be acknowledged.
 */
describe('fail-stop on a write error', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start({ autoCreateTopics: false, brokers: [{ segmentSizeBytes: SEGMENT }] });
  });
  afterAll(async () => cluster?.stop());

  it('stops acknowledging, says why, and every acknowledged message is readable', async () => {
    const router = cluster.routerEndpoint;
    const topic = uniqueName('full');
    const admin = new Admin({ router });
    await admin.createTopic(topic, { queuesPerBroker: 1 });

    const producer = new Producer({ routers: [router], maxAttempts: 1 });
    await producer.start();
    // The disk fills while the broker runs: the segment it will roll into next is /dev/full.
    await producer.send({ topic, keys: ['first'], body: 'x' });
    await symlink('/dev/full', join(cluster.dir, 'broker-a', 'commitlog', String(SEGMENT).padStart(20, '0')));
    const acked: SendReceipt[] = [];
    let error: { code?: string; message?: string } | undefined;
    for (let i = 0; i < 200 && !error; i++) {
      try {
        acked.push(await producer.send({ topic, keys: [`k-${i}`], body: Buffer.alloc(1024, i) }));
      } catch (err) {
        error = err as { code?: string; message?: string };
      }
    }
    await producer.close();
    expect(error?.code).toBe('STORAGE_FAILED');
    expect(error?.message).toMatch(/ENOSPC|no space/i);
    expect(error?.message).toMatch(/stopped accepting writes/);
    expect(acked.length).toBeGreaterThan(10);
    expect(acked.length).toBeLessThan(64);

    // The router hears the broker is failed, with the reason.
    const status = await waitFor(async () => {
      const s = await admin.clusterStatus();
      return s.brokers.find((b) => b.status === 'failed');
    }, 'the broker to report itself failed');
    expect(status.statusReason).toMatch(/ENOSPC|no space/i);
    expect(status.writable).toBe(false);

    // Reads still work, and exactly the acknowledged messages are there.
    const got: string[] = [];
    const consumer = new PushConsumer({ routers: [router], group: uniqueName('g'), topic, handler: (m) => void got.push(m.keys[0]!) });
    await consumer.start();
    await waitFor(() => got.length >= acked.length + 1, 'acknowledged messages to be read back');
    // Nothing beyond what was acknowledged shows up.
    await new Promise((r) => setTimeout(r, 300));
    await consumer.close();
    expect(got).toEqual(['first', ...acked.map((_, i) => `k-${i}`)]);
    admin.close();
  });
});
