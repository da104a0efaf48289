import { describe, expect, it } from 'vitest';
import { FlushedBuffers } from '../src/flushed-buffers.js';

describe('FlushedBuffers', () => {
  it('reuses a buffer only once the transport has flushed everything written', () => {
    let flushed = false;
    const buffers = new FlushedBuffers(1024, () => flushed);
    const first = buffers.take()!;
    expect(first.length).toBe(1024);
    buffers.handed(first);
    // Still queued in the transport: the next batch gets another buffer.
    const second = buffers.take()!;
    expect(second.buffer).not.toBe(first.buffer);
    buffers.handed(second);
    flushed = true;
    const third = buffers.take()!;
    expect([first.buffer, second.buffer]).toContain(third.buffer);
  });

  it('keeps nothing once the stream is idle', () => {
    const buffers = new FlushedBuffers(1024, () => true);
    const first = buffers.take()!;
    buffers.handed(first);
    buffers.idle();
    expect(buffers.take()!.buffer).not.toBe(first.buffer);
  });

  it('never reuses where the transport cannot say it has flushed', () => {
    const buffers = new FlushedBuffers(1024, undefined);
    expect(buffers.take()).toBeUndefined();
    buffers.handed(undefined);
    expect(buffers.take()).toBeUndefined();
  });
});
