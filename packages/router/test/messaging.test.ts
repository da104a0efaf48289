import { Metadata } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { V2_CODE } from '@roomq/protocol';
import { MemoryControlStore } from '../src/index.js';
import { admin, cleanup, messaging, startRouter, serverStream, unary } from './helpers.js';

afterEach(cleanup);

const UNARY_UNSUPPORTED = [
  'SendMessage',
  'QueryAssignment',
  'AckMessage',
  'ForwardMessageToDeadLetterQueue',
  'UpdateOffset',
  'GetOffset',
  'QueryOffset',
  'EndTransaction',
  'ChangeInvisibleDuration',
  'RecallMessage',
  'SyncLiteSubscription',
];

describe('MessagingService calls the router does not serve', () => {
  it.each(UNARY_UNSUPPORTED)('%s answers NOT_IMPLEMENTED at once', async (method) => {
    const { target } = await startRouter();
    const started = Date.now();
    const reply = await unary(messaging(target), method, {}, new Metadata(), 2000);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(reply.status.code).toBe('NOT_IMPLEMENTED');
    expect(reply.status.message).toContain(`${method} is not supported by the roomq router yet`);
  });

  it.each(['ReceiveMessage', 'PullMessage'])('%s streams one NOT_IMPLEMENTED status and ends', async (method) => {
    const { target } = await startRouter();
    const frames = await serverStream(messaging(target), method, { group: { name: 'g' } }, 2000);
    expect(frames).toHaveLength(1);
    expect(frames[0].status.code).toBe('NOT_IMPLEMENTED');
    expect(frames[0].status.message).toContain(`${method} is not supported by the roomq router yet`);
  });

  it('Telemetry answers a NOT_IMPLEMENTED status command and ends the stream', async () => {
    const { target } = await startRouter();
    const client = messaging(target) as any;
    const call = client.Telemetry(new Metadata(), { deadline: Date.now() + 2000 });
    const frames: any[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      call.on('data', (f: any) => frames.push(f));
      call.on('error', reject);
      call.on('end', resolve);
    });
    call.write({ settings: { client_type: 'PRODUCER', publishing: { topics: [{ name: 't' }], validate_message_type: true } } });
    await ended;
    call.end();
    expect(frames).toHaveLength(1);
    expect(frames[0].status.code).toBe('NOT_IMPLEMENTED');
    expect(frames[0].command).toBeUndefined();
  });
});

describe('client heartbeats', () => {
  it('answers Heartbeat OK and remembers the client by x-mq-client-id', async () => {
    const { target, router } = await startRouter();
    const metadata = new Metadata();
    metadata.set('x-mq-client-id', 'dc1@host@42@1');
    const reply = await unary(messaging(target), 'Heartbeat', { group: { name: 'billing' }, client_type: 'PUSH_CONSUMER' }, metadata);
    expect(reply.status.code).toBe('OK');
    expect(router.clients()).toEqual([expect.objectContaining({ clientId: 'dc1@host@42@1', group: 'billing', clientType: 'PUSH_CONSUMER', accessPoint: target })]);

    const bye = await unary(messaging(target), 'NotifyClientTermination', { group: { name: 'billing' } }, metadata);
    expect(bye.status.code).toBe('OK');
    expect(router.clients()).toEqual([]);
  });

  it('answers OK without a client ID and remembers nothing', async () => {
    const { target, router } = await startRouter();
    const reply = await unary(messaging(target), 'Heartbeat', { client_type: 'PRODUCER' });
    expect(reply.status.code).toBe('OK');
    expect(router.clients()).toEqual([]);
  });
});

describe('handler failures', () => {
  it('turns an unexpected exception into an INTERNAL status and keeps serving', async () => {
    const store = new MemoryControlStore();
    let broken = true;
    const listTopics = store.listTopics.bind(store);
    store.listTopics = async () => {
      if (broken) throw new Error('boom');
      return listTopics();
    };
    const { target } = await startRouter({ store });
    const reply = await unary(admin(target), 'ListTopics', {});
    expect(reply.status.code).toBe(V2_CODE.INTERNAL_ERROR);
    expect(reply.status.message).toContain('ListTopics failed inside the router: boom');
    broken = false;
    expect((await unary(admin(target), 'ListTopics', {})).status.code).toBe(V2_CODE.OK);
  });
});
