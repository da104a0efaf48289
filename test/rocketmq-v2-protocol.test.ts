import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32 } from '@roomq/protocol';
import { TestCluster, uniqueName } from './helpers/cluster.js';
import { RawMessaging, v2Message } from './helpers/raw-clients.js';

/**
 * The RocketMQ 5 calls as any v2 client makes them, with plain proto objects: route from the router, then
 * send, pull and offsets at the broker the route names.
 */
describe('apache.rocketmq.v2.MessagingService', () => {
  let cluster: TestCluster;
  let router: RawMessaging;
  let broker: RawMessaging;
  const topic = uniqueName('v2');
  const group = uniqueName('v2g');

  beforeAll(async () => {
    cluster = await TestCluster.start({ autoCreateTopics: true });
    router = new RawMessaging(cluster.routerEndpoint);
  });
  afterAll(async () => {
    router?.close();
    broker?.close();
    await cluster?.stop();
  });

  it('QueryRoute answers the broker endpoint with writable queues (auto-create on)', async () => {
    const route = await router.call('QueryRoute', { topic: { name: topic }, endpoints: { addresses: [{ host: '127.0.0.1', port: 0 }] } });
    expect(route.status.code).toBe('OK');
    const queues = route.message_queues as Array<Record<string, any>>;
    expect(queues.length).toBeGreaterThan(0);
    expect(queues[0]).toMatchObject({ topic: { name: topic }, id: 0, permission: 'READ_WRITE', broker: { name: 'broker-a', id: 0 } });
    expect(queues[0]!.accept_message_types).toContain('NORMAL');
    const address = queues[0]!.broker.endpoints.addresses[0];
    broker = new RawMessaging(`${address.host}:${address.port}`);
    expect(`${address.host}:${address.port}`).toBe(cluster.broker().ready.endpoint);
  });

  it('Heartbeat and NotifyClientTermination answer OK at router and broker', async () => {
    for (const target of [router, broker]) {
      expect((await target.call('Heartbeat', { group: { name: group }, client_type: 'PRODUCER' })).status.code).toBe('OK');
      expect((await target.call('NotifyClientTermination', { group: { name: group } })).status.code).toBe('OK');
    }
  });

  it('SendMessage stores many messages in one request and answers an entry for each', async () => {
    const messages = Array.from({ length: 50 }, (_, i) => v2Message(topic, Buffer.from(`v2-body-${i}`), { keys: [`v2-${i}`], tag: 'tagA' }));
    const res = await broker.call('SendMessage', { messages });
    expect(res.status.code).toBe('OK');
    expect(res.entries).toHaveLength(50);
    expect(res.entries.map((e: { offset: number }) => Number(e.offset ?? 0))).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(res.entries[7].message_id).toBe((messages[7]!['system_properties'] as { message_id: string }).message_id);
  });

  it('PullMessage streams status, messages with body digests, then the next offset', async () => {
    const responses = await broker.stream('PullMessage', { group: { name: group }, message_queue: { topic: { name: topic }, id: 0 }, offset: 10, batch_size: 5 });
    expect(responses[0]!.status.code).toBe('OK');
    const messages = responses.filter((r) => r.message).map((r) => r.message);
    expect(messages).toHaveLength(5);
    expect(messages.map((m) => m.system_properties.keys[0])).toEqual(['v2-10', 'v2-11', 'v2-12', 'v2-13', 'v2-14']);
    expect(messages[0].system_properties).toMatchObject({ tag: 'tagA', queue_id: 0, delivery_attempt: 1, body_digest: { type: 'CRC32', checksum: String(crc32(Buffer.from('v2-body-10'))) } });
    expect(Number(responses[responses.length - 1]!.next_offset)).toBe(15);
  });

  it('PullMessage at the end long-polls and then says no new message', async () => {
    const started = Date.now();
    const responses = await broker.stream('PullMessage', { group: { name: group }, message_queue: { topic: { name: topic }, id: 0 }, offset: 50, batch_size: 5, long_polling_timeout: { seconds: 0, nanos: 300_000_000 } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(responses[0]!.status.code).toBe('MESSAGE_NOT_FOUND');
    expect(Number(responses[responses.length - 1]!.next_offset)).toBe(50);
  });

  it('UpdateOffset, GetOffset and QueryOffset keep the group position, never lowering it', async () => {
    const mq = { topic: { name: topic }, id: 0 };
    expect((await broker.call('GetOffset', { group: { name: group }, message_queue: mq })).status.code).toBe('OFFSET_NOT_FOUND');
    expect((await broker.call('UpdateOffset', { group: { name: group }, message_queue: mq, offset: 20 })).status.code).toBe('OK');
    expect((await broker.call('UpdateOffset', { group: { name: group }, message_queue: mq, offset: 5 })).status.code).toBe('OK');
    const got = await broker.call('GetOffset', { group: { name: group }, message_queue: mq });
    expect(Number(got.offset)).toBe(20);
    const beyond = await broker.call('UpdateOffset', { group: { name: group }, message_queue: mq, offset: 51 });
    expect(beyond.status.code).toBe('ILLEGAL_OFFSET');
    expect(Number((await broker.call('QueryOffset', { message_queue: mq, query_offset_policy: 'BEGINNING' })).offset ?? 0)).toBe(0);
    expect(Number((await broker.call('QueryOffset', { message_queue: mq, query_offset_policy: 'END' })).offset)).toBe(50);
  });

  it('answers RPCs it does not support yet at once with NOT_IMPLEMENTED', async () => {
    const started = Date.now();
    for (const [rpc, request] of [
      ['QueryAssignment', { topic: { name: topic }, group: { name: group } }],
      ['EndTransaction', { topic: { name: topic } }],
      ['ChangeInvisibleDuration', { topic: { name: topic } }],
      ['ForwardMessageToDeadLetterQueue', { topic: { name: topic } }],
      ['RecallMessage', { topic: { name: topic } }],
    ] as const) {
      const res = await broker.call(rpc, request);
      expect(res.status.code, rpc).toBe('NOT_IMPLEMENTED');
      expect(res.status.message).toMatch(/not supported/);
    }
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
