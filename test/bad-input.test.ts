import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin, Producer } from '@roomq/client';
import { connect, type Socket } from 'node:net';
import {
  DATA_PREFACE,
  V2_CODE,
  dataFrameDecoder,
  decodeBrokerDataFrame,
  encodeFrame,
  encodePublishFrame,
  encodePublishOpen,
  encodePublishRequest,
  parseHostPort,
  type PublishAckMsg,
} from '@roomq/protocol';
import { TestCluster, uniqueName } from './helpers/cluster.js';
import { RawData, RawMessaging, v2Message } from './helpers/raw-clients.js';

/** Bad input is refused with a clear status and stores nothing. Auto-create is off, as in production. */
describe('bad input', () => {
  let cluster: TestCluster;
  let v2: RawMessaging;
  let data: RawData;
  let admin: Admin;
  let topic: string;

  /** Messages stored in the topic, asked of the broker itself (the router's view lags a heartbeat). */
  async function storedTotal(): Promise<number> {
    let total = 0;
    for (const id of [0, 1]) {
      const res = await v2.call('QueryOffset', { message_queue: { topic: { name: topic }, id }, query_offset_policy: 'END' });
      total += Number(res.offset ?? 0);
    }
    return total;
  }

  beforeAll(async () => {
    cluster = await TestCluster.start({ autoCreateTopics: false });
    const endpoint = cluster.broker().ready.endpoint;
    v2 = new RawMessaging(endpoint);
    data = new RawData(endpoint);
    admin = new Admin({ router: cluster.routerEndpoint });
    topic = uniqueName('bad');
    await admin.createTopic(topic, { queuesPerBroker: 2 });
    // The broker learns topics from its heartbeats; a first good send proves it is ready.
    const ok = await v2.call('SendMessage', { messages: [v2Message(topic, Buffer.from('ok'))] });
    expect(ok.status.code).toBe('OK');
  });
  afterAll(async () => {
    v2?.close();
    data?.close();
    admin?.close();
    await cluster?.stop();
  });

  it('refuses a body over the 4 MiB default limit', async () => {
    const before = await storedTotal();
    const res = await v2.call('SendMessage', { messages: [v2Message(topic, Buffer.alloc(4 * 1024 * 1024 + 1))] });
    expect(res.status.code).toBe('MESSAGE_BODY_TOO_LARGE');
    expect(res.status.message).toMatch(/over the broker limit of 4194304/);
    expect(await storedTotal()).toBe(before);
  });

  it('refuses a whole batch when one message is bad, storing none of it', async () => {
    const before = await storedTotal();
    const res = await v2.call('SendMessage', { messages: [v2Message(topic, Buffer.from('fine')), v2Message(topic, Buffer.alloc(5 * 1024 * 1024))] });
    expect(res.status.code).toBe('MESSAGE_BODY_TOO_LARGE');
    expect(res.status.message).toMatch(/message 1 of 2 refused, nothing of this request was stored/);
    expect(await storedTotal()).toBe(before);
  });

  it('refuses invalid topic names', async () => {
    const res = await v2.call('SendMessage', { messages: [v2Message('bad topic!', Buffer.from('x'))] });
    expect(res.status.code).toBe('ILLEGAL_TOPIC');
    const route = await new RawMessaging(cluster.routerEndpoint).call('QueryRoute', { topic: { name: 'no/slashes' } });
    expect(route.status.code).toBe('ILLEGAL_TOPIC');
  });

  it('refuses invalid group names', async () => {
    const res = await v2.call('UpdateOffset', { group: { name: 'bad group' }, message_queue: { topic: { name: topic }, id: 0 }, offset: 0 });
    expect(res.status.code).toBe('ILLEGAL_CONSUMER_GROUP');
  });

  it('refuses an unknown topic when auto-create is off, naming the fix', async () => {
    const before = await storedTotal();
    const unknown = uniqueName('nope');
    const res = await v2.call('SendMessage', { messages: [v2Message(unknown, Buffer.from('x'))] });
    expect(res.status.code).toBe('TOPIC_NOT_FOUND');
    expect(res.status.message).toMatch(/roomq topic create/);
    const route = await new RawMessaging(cluster.routerEndpoint).call('QueryRoute', { topic: { name: unknown } });
    expect(route.status.code).toBe('TOPIC_NOT_FOUND');
    expect(await storedTotal()).toBe(before);
    expect((await admin.listTopics()).map((t) => t.name)).not.toContain(unknown);
  });

  it('refuses the SDK send of an unknown topic with a clear error', async () => {
    const producer = new Producer({ routers: [cluster.routerEndpoint], maxAttempts: 1 });
    await producer.start();
    await expect(producer.send({ topic: uniqueName('nope'), body: 'x' })).rejects.toMatchObject({ code: 'TOPIC_NOT_FOUND' });
    await producer.close();
  });

  it('refuses malformed requests: garbage frames, empty sends, out-of-range queues', async () => {
    const before = await storedTotal();
    const garbage = await data.publishOnce(Buffer.from([0, 0, 0, 5, 1, 2, 3]));
    expect(garbage.status.code).toBe(V2_CODE.BAD_REQUEST);
    expect(garbage.status.message).toMatch(/truncated|overruns/);

    const empty = await v2.call('SendMessage', { messages: [] });
    expect(empty.status.code).toBe('BAD_REQUEST');

    const badQueue = await v2.call('SendMessage', { messages: [v2Message(topic, Buffer.from('x'), { queue_id: 7 })] });
    expect(badQueue.status.code).toBe('BAD_REQUEST');
    expect(badQueue.status.message).toMatch(/queues 0-1/);

    // A frame whose framing is right but whose section claims a body longer than it carries.
    const frame = encodePublishRequest([{ queueId: 0, fields: { topic, messageId: 'x1', tag: '', keys: [], properties: {}, body: Buffer.from('y'), bornTimestampMs: 1 } }]);
    frame.writeUInt32BE(1000, frame.length - 5); // the body length field sits just before the 1-byte body
    const badSection = await data.publishOnce(frame);
    expect(badSection.status.code).toBe(V2_CODE.BAD_REQUEST);
    expect(badSection.status.message).toMatch(/truncated at body/);
    expect(await storedTotal()).toBe(before);
  });

  it('refuses garbage on the SDK data path: a bad publish frame gets a BAD_REQUEST ack, a bad stream is closed', async () => {
    const before = await storedTotal();
    const { host, port } = parseHostPort(cluster.broker().ready.endpoint)!;
    const open = async (): Promise<Socket> => {
      const socket = connect({ host, port });
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      return socket;
    };

    const publish = await open();
    const ack = new Promise<PublishAckMsg>((resolve, reject) => {
      const decoder = dataFrameDecoder();
      publish.on('data', (bytes: Buffer) => decoder.push(bytes, (kind, payload) => resolve((decodeBrokerDataFrame(kind, payload, decoder) as { ack: PublishAckMsg }).ack)));
      publish.once('error', reject);
    });
    publish.write(Buffer.concat([DATA_PREFACE, encodePublishOpen(), ...encodePublishFrame({ batch_id: 42, messages: Buffer.from([0, 0, 0, 5, 1, 2, 3]) })]));
    expect(await ack).toMatchObject({ batch_id: 42, status: { code: V2_CODE.BAD_REQUEST, message: expect.stringMatching(/truncated|overruns/) } });
    publish.destroy();

    // A stream that opens with neither Publish nor Subscribe, and one that claims a 1 GiB frame: both cut off.
    for (const bytes of [encodeFrame(9, Buffer.from('hello')), Buffer.from([0x40, 0, 0, 0, 1])]) {
      const socket = await open();
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.on('error', () => undefined);
      socket.write(Buffer.concat([DATA_PREFACE, bytes]));
      await closed;
    }
    expect(await storedTotal()).toBe(before);
    const ok = await v2.call('SendMessage', { messages: [v2Message(topic, Buffer.from('still serving'))] });
    expect(ok.status.code).toBe('OK');
  });

  it('answers unsupported RPCs at once instead of hanging', async () => {
    const started = Date.now();
    const ack = await v2.call('AckMessage', { group: { name: 'g' }, topic: { name: topic }, entries: [] });
    expect(ack.status.code).toBe('NOT_IMPLEMENTED');
    const received = await v2.stream('ReceiveMessage', { group: { name: 'g' }, message_queue: { topic: { name: topic }, id: 0 }, batch_size: 1 });
    expect(received[0]?.status.code).toBe('NOT_IMPLEMENTED');
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
