import { describe, expect, it } from 'vitest';
import { shouldWriteFrame, takeBatch } from '../src/batch-planner.js';
import { FifoQueue } from '../src/fifo-queue.js';

function queue(sizes: number[]): FifoQueue<{ sizeBytes: number; i: number }> {
  const q = new FifoQueue<{ sizeBytes: number; i: number }>();
  sizes.forEach((sizeBytes, i) => q.push({ sizeBytes, i }));
  return q;
}

describe('batch planning', () => {
  it('takes up to the message limit, oldest first', () => {
    const q = queue(Array.from({ length: 10 }, () => 10));
    expect(takeBatch(q, { maxMessages: 4, maxBytes: 1000 }).map((m) => m.i)).toEqual([0, 1, 2, 3]);
    expect(q.length).toBe(6);
  });

  it('stops before the byte limit', () => {
    const q = queue([400, 400, 400]);
    expect(takeBatch(q, { maxMessages: 100, maxBytes: 1000 }).map((m) => m.i)).toEqual([0, 1]);
  });

  it('sends a message larger than the byte limit alone', () => {
    const q = queue([5000, 10]);
    expect(takeBatch(q, { maxMessages: 100, maxBytes: 1000 }).map((m) => m.i)).toEqual([0]);
    expect(takeBatch(q, { maxMessages: 100, maxBytes: 1000 }).map((m) => m.i)).toEqual([1]);
    expect(takeBatch(q, { maxMessages: 100, maxBytes: 1000 })).toEqual([]);
  });

  it('writes a frame only with messages, room in flight and a writable stream', () => {
    expect(shouldWriteFrame({ pending: 1, framesInFlight: 0, streamWritable: true }, 4)).toBe(true);
    expect(shouldWriteFrame({ pending: 0, framesInFlight: 0, streamWritable: true }, 4)).toBe(false);
    expect(shouldWriteFrame({ pending: 5, framesInFlight: 4, streamWritable: true }, 4)).toBe(false);
    expect(shouldWriteFrame({ pending: 5, framesInFlight: 1, streamWritable: false }, 4)).toBe(false);
  });
});
