import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DelayedPipe, type PipeSink, type PipeSource } from '../src/delayed-pipe.js';

class FakeSource implements PipeSource {
  paused: boolean | undefined;
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
}

class FakeSink implements PipeSink {
  readonly written: string[] = [];
  ended = false;
  /** write() answers false once this many chunks wait unacknowledged. */
  full = Number.POSITIVE_INFINITY;
  private drainListeners: Array<() => void> = [];
  write(chunk: Uint8Array): boolean {
    if (this.ended) throw new Error('write after end');
    this.written.push(Buffer.from(chunk).toString());
    return this.written.length < this.full;
  }
  end(): void {
    this.ended = true;
  }
  once(_event: 'drain', listener: () => void): void {
    this.drainListeners.push(listener);
  }
  drain(): void {
    const listeners = this.drainListeners;
    this.drainListeners = [];
    for (const l of listeners) l();
  }
}

describe('DelayedPipe', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function pipe(delay: { ms: number }, highWaterBytes = 1024): { source: FakeSource; sink: FakeSink; pipe: DelayedPipe; forwarded: () => number } {
    const source = new FakeSource();
    const sink = new FakeSink();
    let forwarded = 0;
    const p = new DelayedPipe(source, sink, {
      delayMs: () => delay.ms,
      highWaterBytes,
      now: () => Date.now(),
      onForwarded: (n) => {
        forwarded += n;
      },
    });
    p.start();
    return { source, sink, pipe: p, forwarded: () => forwarded };
  }

  it('passes chunks straight through when there is no delay', () => {
    const { sink, pipe: p, source, forwarded } = pipe({ ms: 0 });
    expect(source.paused).toBe(false);
    p.push(Buffer.from('a'));
    p.push(Buffer.from('b'));
    p.end();
    expect(sink.written).toEqual(['a', 'b']);
    expect(sink.ended).toBe(true);
    expect(forwarded()).toBe(2);
  });

  it('holds each chunk for the delay it was pushed with and keeps order when the delay shrinks', () => {
    const delay = { ms: 100 };
    const { sink, pipe: p } = pipe(delay);
    p.push(Buffer.from('slow'));
    delay.ms = 10;
    vi.advanceTimersByTime(5);
    p.push(Buffer.from('fast'));
    vi.advanceTimersByTime(50);
    expect(sink.written).toEqual([]); // 'fast' is due but must not overtake 'slow'
    vi.advanceTimersByTime(45);
    expect(sink.written).toEqual(['slow', 'fast']);
  });

  it('ends the sink only after the data before the end', () => {
    const { sink, pipe: p } = pipe({ ms: 50 });
    p.push(Buffer.from('x'));
    p.end();
    vi.advanceTimersByTime(49);
    expect(sink.ended).toBe(false);
    vi.advanceTimersByTime(1);
    expect(sink.written).toEqual(['x']);
    expect(sink.ended).toBe(true);
  });

  it('pauses the source above the high-water mark and resumes it under half of it', () => {
    const { source, pipe: p } = pipe({ ms: 100 }, 1000);
    for (let i = 0; i < 10; i++) p.push(Buffer.alloc(100));
    expect(source.paused).toBe(false);
    p.push(Buffer.alloc(100));
    expect(source.paused).toBe(true);
    expect(p.bytesQueued).toBe(1100);
    vi.advanceTimersByTime(100);
    expect(p.bytesQueued).toBe(0);
    expect(source.paused).toBe(false);
  });

  it('stops writing while the sink asks to wait for drain, and the queue then pauses the source', () => {
    const { sink, source, pipe: p } = pipe({ ms: 0 }, 250);
    sink.full = 1;
    p.push(Buffer.alloc(100, 'a'));
    p.push(Buffer.alloc(100, 'b'));
    p.push(Buffer.alloc(100, 'c'));
    p.push(Buffer.alloc(100, 'd'));
    expect(sink.written).toHaveLength(1);
    expect(source.paused).toBe(true);
    sink.full = Number.POSITIVE_INFINITY;
    sink.drain();
    expect(sink.written.map((s) => s[0])).toEqual(['a', 'b', 'c', 'd']);
    expect(source.paused).toBe(false);
  });

  it('releases nothing while held and everything due once released', () => {
    const { sink, source, pipe: p } = pipe({ ms: 10 });
    p.push(Buffer.from('1'));
    p.hold();
    expect(source.paused).toBe(true);
    vi.advanceTimersByTime(1000);
    expect(sink.written).toEqual([]);
    p.release();
    expect(sink.written).toEqual(['1']);
    expect(source.paused).toBe(false);
  });

  it('drops everything once destroyed', () => {
    const { sink, pipe: p } = pipe({ ms: 10 });
    p.push(Buffer.from('1'));
    p.destroy();
    p.push(Buffer.from('2'));
    vi.advanceTimersByTime(100);
    expect(sink.written).toEqual([]);
    expect(p.bytesQueued).toBe(0);
  });
});
