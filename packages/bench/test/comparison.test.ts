import { describe, expect, it } from 'vitest';
import { advantage, comparisonRows, evaluateTargets, type SubjectResult } from '../src/comparison.js';

function subject(id: string, fsynced: boolean, values: SubjectResult['values']): SubjectResult {
  return { id, label: id, shortLabel: id, durability: { fsyncedBeforeAck: fsynced, ackMeans: '' }, values, notes: [] };
}

describe('advantage', () => {
  it('is above 1 when roomq is ahead, for throughput and for latency alike', () => {
    expect(advantage({ better: 'higher' }, 300, 100)).toBe(3);
    expect(advantage({ better: 'lower' }, 0.5, 1)).toBe(2);
    expect(advantage({ better: 'lower' }, 2, 1)).toBe(0.5);
  });

  it('is undefined when a side has no figure or a zero', () => {
    expect(advantage({ better: 'higher' }, undefined, 1)).toBeUndefined();
    expect(advantage({ better: 'lower' }, 0, 1)).toBeUndefined();
  });
});

describe('evaluateTargets', () => {
  const roomq = subject('roomq', true, { publish: 90_000, consume: 200_000, syncP50: 0.4, e2eP50: 0.6 });

  it('judges durable publish against the best peer that fsyncs, ignoring faster ones that do not', () => {
    const peers = [subject('nats:jetstream', false, { publish: 500_000 }), subject('rabbitmq:quorum', true, { publish: 20_000 }), subject('redis:always', true, { publish: 30_000 })];
    const [publish] = evaluateTargets(roomq, peers);
    expect(publish).toMatchObject({ status: 'met', ratio: 3, against: { id: 'redis:always', value: 30_000 } });
  });

  it('says missed when the ratio falls short', () => {
    const [publish] = evaluateTargets(roomq, [subject('redis:always', true, { publish: 31_000 })]);
    expect(publish!.status).toBe('missed');
    expect(publish!.ratio).toBeCloseTo(90_000 / 31_000);
  });

  it('compares backlog consume with the faster Redis variant', () => {
    const consume = evaluateTargets(roomq, [subject('redis:everysec', false, { consume: 160_000 }), subject('redis:always', true, { consume: 140_000 })])[1]!;
    expect(consume.against?.id).toBe('redis:everysec');
    expect(consume.status).toBe('missed'); // 200k / 160k = 1.25 < 1.3
  });

  it('compares sync p50 with Redis appendfsync always only', () => {
    const sync = evaluateTargets(roomq, [subject('nats:jetstream', false, { syncP50: 0.1 }), subject('redis:always', true, { syncP50: 0.4 })])[2]!;
    expect(sync).toMatchObject({ status: 'met', ratio: 1, against: { id: 'redis:always' } });
  });

  it('compares end-to-end p50 like with like: sync flush with fsyncing peers, async flush with the others', () => {
    const peers = [subject('rabbitmq:quorum', true, { e2eP50: 2 }), subject('redis:always', true, { e2eP50: 0.8 }), subject('nats:jetstream', false, { e2eP50: 0.3 }), subject('redis:everysec', false, { e2eP50: 0.25 })];
    const roomqAsync = subject('roomq:async', false, { e2eP50: 0.2 });
    const [, , , durable, fast] = evaluateTargets(roomq, peers, roomqAsync);
    expect(durable).toMatchObject({ status: 'met', roomq: 0.6, against: { id: 'redis:always' } });
    expect(durable!.ratio).toBeCloseTo(0.8 / 0.6);
    expect(fast).toMatchObject({ status: 'met', roomq: 0.2, roomqLabel: 'roomq:async', against: { id: 'redis:everysec' } });
    // The headline roomq (sync flush) is never judged against a peer that acks before fsync, nor async roomq
    // against one that fsyncs.
    const slow = evaluateTargets(roomq, peers, subject('roomq:async', false, { e2eP50: 0.3 }))[4]!;
    expect(slow).toMatchObject({ status: 'missed', against: { id: 'redis:everysec' } });
  });

  it('leaves the async-flush comparison not evaluated when roomq did not run with async flush', () => {
    const fast = evaluateTargets(roomq, [subject('redis:everysec', false, { e2eP50: 0.25 })])[4]!;
    expect(fast).toMatchObject({ status: 'not evaluated', note: expect.stringContaining('async flush did not run') });
  });

  it('leaves a target not evaluated, with the reason, when its peer did not run or roomq has no figure', () => {
    const verdicts = evaluateTargets(subject('roomq', true, {}), [subject('redis:always', true, { publish: 1 })]);
    expect(verdicts[0]).toMatchObject({ status: 'not evaluated', note: expect.stringContaining('roomq has no figure') });
    expect(verdicts[1]).toMatchObject({ status: 'not evaluated', note: 'no Redis Streams figure: not run, or the scenario failed' });
  });
});

describe('comparisonRows', () => {
  it('puts every peer beside roomq with its ratio, a missing figure as undefined', () => {
    const rows = comparisonRows(subject('roomq', true, { publish: 100 }), [subject('a', true, { publish: 50 }), subject('b', true, {})]);
    expect(rows.find((r) => r.key === 'publish')!.peers).toEqual([
      { id: 'a', value: 50, advantage: 2 },
      { id: 'b', value: undefined, advantage: undefined },
    ]);
  });
});
