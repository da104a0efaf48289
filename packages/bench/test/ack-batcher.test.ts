import { describe, expect, it } from 'vitest';
import { AckBatcher } from '../src/peers/ack-batcher.js';

describe('AckBatcher', () => {
  it('acknowledges up to the latest message every N messages and what is left on close', () => {
    const acked: number[] = [];
    const batcher = new AckBatcher<number>((last) => acked.push(last), 3, 60_000);
    for (let i = 1; i <= 7; i++) batcher.add(i);
    expect(acked).toEqual([3, 6]);
    batcher.close();
    expect(acked).toEqual([3, 6, 7]);
  });

  it('acknowledges a lone message after the flush interval', async () => {
    const acked: number[] = [];
    const batcher = new AckBatcher<number>((last) => acked.push(last), 100, 10);
    batcher.add(1);
    const deadline = Date.now() + 2_000;
    while (acked.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    batcher.close();
    expect(acked).toEqual([1]);
  });
});
