import { afterEach, describe, expect, it } from 'vitest';
import { V2_CODE, fromWireStatus } from '@roomq/protocol';
import { admin, cleanup, registry, startRouter, unary } from './helpers.js';

afterEach(cleanup);

describe('topics through AdminService and RegistryService', () => {
  it('creates, lists, and confirms an existing topic idempotently', async () => {
    const { target } = await startRouter({ defaultQueuesPerBroker: 4 });
    const a = admin(target);

    const first = await unary(a, 'CreateTopic', { name: 'orders', queues_per_broker: 8 });
    expect(first.status.code).toBe(V2_CODE.OK);
    expect(first.created).toBe(true);
    expect(first.topic).toMatchObject({ name: 'orders', queues_per_broker: 8 });
    expect(first.topic.created_at_ms).toBeGreaterThan(0);

    const defaulted = await unary(a, 'CreateTopic', { name: 'payments' });
    expect(defaulted.topic.queues_per_broker).toBe(4);

    const again = await unary(a, 'CreateTopic', { name: 'orders', queues_per_broker: 8 });
    expect(again.status.code).toBe(V2_CODE.OK);
    expect(again.created ?? false).toBe(false);
    expect(again.topic.created_at_ms).toBe(first.topic.created_at_ms);

    const unspecified = await unary(a, 'CreateTopic', { name: 'orders' });
    expect(unspecified.status.code).toBe(V2_CODE.OK);
    expect(unspecified.topic.queues_per_broker).toBe(8);

    const list = await unary(a, 'ListTopics', {});
    expect(list.topics.map((t: any) => [t.name, t.queues_per_broker])).toEqual([
      ['orders', 8],
      ['payments', 4],
    ]);
  });

  it('refuses a different queue count for an existing topic with TOPIC_EXISTS', async () => {
    const { target } = await startRouter();
    const a = admin(target);
    await unary(a, 'CreateTopic', { name: 'orders', queues_per_broker: 4 });
    const conflict = await unary(a, 'CreateTopic', { name: 'orders', queues_per_broker: 2 });
    const err = fromWireStatus(conflict.status);
    expect(err?.code).toBe('TOPIC_EXISTS');
    expect(err?.message).toMatch(/already exists with 4 queues per broker, not 2/);
    const list = await unary(a, 'ListTopics', {});
    expect(list.topics).toHaveLength(1);
    expect(list.topics[0].queues_per_broker).toBe(4);
  });

  it('makes exactly one creator win when the same topic is created concurrently', async () => {
    const { target } = await startRouter();
    const a = admin(target);
    const replies = await Promise.all(Array.from({ length: 10 }, () => unary(a, 'CreateTopic', { name: 'race', queues_per_broker: 3 })));
    expect(replies.every((r) => r.status.code === V2_CODE.OK)).toBe(true);
    expect(replies.filter((r) => r.created).length).toBe(1);
  });

  it('rejects bad topic names and queue counts and creates nothing', async () => {
    const { target } = await startRouter();
    const a = admin(target);
    for (const name of ['', 'has space', 'slash/topic', 'x'.repeat(128), 'dot.topic']) {
      const reply = await unary(a, 'CreateTopic', { name });
      expect(reply.status.code, name).toBe(V2_CODE.ILLEGAL_TOPIC);
      expect(reply.status.message).toMatch(/use 1-127 characters/);
    }
    const tooMany = await unary(a, 'CreateTopic', { name: 'big', queues_per_broker: 5000 });
    expect(fromWireStatus(tooMany.status)?.code).toBe('BAD_REQUEST');
    const negative = await unary(a, 'CreateTopic', { name: 'neg', queues_per_broker: -1 });
    expect(fromWireStatus(negative.status)?.code).toBe('BAD_REQUEST');
    expect((await unary(a, 'ListTopics', {})).topics ?? []).toEqual([]);
  });

  it('GetTopic answers TOPIC_NOT_FOUND naming the fix when auto-creation is off', async () => {
    const { target } = await startRouter();
    const reply = await unary(registry(target), 'GetTopic', { name: 'missing', create_if_missing: true });
    expect(reply.status.code).toBe(V2_CODE.TOPIC_NOT_FOUND);
    expect(reply.status.message).toContain('roomq topic create missing');
    expect(reply.status.message).toContain('autoCreateTopics');
    expect(reply.topic ?? null).toBeNull();
  });

  it('GetTopic creates a missing topic only when asked and allowed', async () => {
    const { target } = await startRouter({ autoCreateTopics: true, defaultQueuesPerBroker: 2 });
    const r = registry(target);
    const notAsked = await unary(r, 'GetTopic', { name: 'lazy' });
    expect(notAsked.status.code).toBe(V2_CODE.TOPIC_NOT_FOUND);
    const created = await unary(r, 'GetTopic', { name: 'lazy', create_if_missing: true });
    expect(created.status.code).toBe(V2_CODE.OK);
    expect(created.topic).toMatchObject({ name: 'lazy', queues_per_broker: 2 });
    const found = await unary(r, 'GetTopic', { name: 'lazy' });
    expect(found.topic.created_at_ms).toBe(created.topic.created_at_ms);
  });

  it('GetTopic without a name is a BAD_REQUEST', async () => {
    const { target } = await startRouter();
    const reply = await unary(registry(target), 'GetTopic', {});
    expect(reply.status.code).toBe(V2_CODE.BAD_REQUEST);
  });
});
