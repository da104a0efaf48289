import { describe, expect, it } from 'vitest';
import { FrameDecoder, ReceiveArena, encodeFrame } from '../src/index.js';

describe('ReceiveArena', () => {
  it('hands out views of one buffer and takes space back as the oldest region is released', () => {
    const arena = new ReceiveArena(1000);
    const a = arena.take(400)!;
    const b = arena.take(400)!;
    expect(a.buffer).toBe(b.buffer);
    expect(a.byteOffset + 400).toBe(b.byteOffset);
    // 200 bytes are left at the end: a 300-byte frame does not fit anywhere until `a` goes.
    expect(arena.take(300)).toBeUndefined();
    arena.release(b);
    // `b` was not the oldest: its space comes back only with `a`'s.
    expect(arena.take(300)).toBeUndefined();
    arena.release(a.subarray(24));
    expect(arena.heldBytes()).toBe(0);
    expect(arena.take(1000)).toBeDefined();
  });

  it('wraps to the start when the end is too short, and never hands out bytes still held', () => {
    const arena = new ReceiveArena(1000);
    const regions = [arena.take(300)!, arena.take(300)!, arena.take(300)!];
    for (const region of regions) region.fill(0);
    arena.release(regions[0]!);
    const wrapped = arena.take(250)!;
    expect(wrapped.byteOffset - regions[0]!.byteOffset).toBe(0);
    wrapped.fill(1);
    for (const held of regions.slice(1)) expect(held.includes(1)).toBe(false);
    // 50 bytes before regions[1] and 100 after regions[2]: nothing of 60 fits in one piece before the head.
    expect(arena.take(60)).toBeUndefined();
    expect(arena.take(50)).toBeDefined();
  });

  it('refuses what it cannot hold and ignores buffers it did not hand out', () => {
    const arena = new ReceiveArena(100);
    expect(arena.take(101)).toBeUndefined();
    expect(arena.take(0)).toBeUndefined();
    const held = arena.take(60)!;
    arena.release(Buffer.alloc(60));
    arena.release(held.subarray(60)); // an empty view at the region's end is not inside it
    expect(arena.heldBytes()).toBe(60);
    arena.release(held);
    expect(arena.heldBytes()).toBe(0);
  });
});

describe('FrameDecoder gathering into an arena', () => {
  it('gathers split payloads where gatherInto says, and intact; others into buffers of their own', () => {
    const arena = new ReceiveArena(64 * 1024);
    const decoder = new FrameDecoder('test stream', undefined, true, (kind, size) => (kind === 3 ? arena.take(size) : undefined));
    const big = Buffer.alloc(20_000);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    const stream = Buffer.concat([encodeFrame(3, big), encodeFrame(1, Buffer.from('small')), encodeFrame(3, big)]);
    const got: Array<[number, Buffer]> = [];
    // Pieces of 7 KiB, reused as a socket's shared read buffer would be.
    const piece = Buffer.alloc(7 * 1024);
    for (let at = 0; at < stream.length; at += piece.length) {
      const n = stream.copy(piece, 0, at, at + piece.length);
      decoder.push(piece.subarray(0, n), (kind, payload) => got.push([kind, payload]));
      piece.fill(0xee);
    }
    expect(got.map(([kind]) => kind)).toEqual([3, 1, 3]);
    expect(got[0]![1].equals(big) && got[2]![1].equals(big)).toBe(true);
    expect(got[1]![1].toString()).toBe('small');
    expect(arena.heldBytes()).toBe(40_000);
    expect(got[1]![1].buffer).not.toBe(got[0]![1].buffer);
    arena.release(got[0]![1]);
    arena.release(got[2]![1]);
    expect(arena.heldBytes()).toBe(0);
  });

  it('hands back a frame cut off by the end of the stream, so its arena space can be released', () => {
    const arena = new ReceiveArena(64 * 1024);
    const decoder = new FrameDecoder('test stream', undefined, false, (_kind, size) => arena.take(size));
    const frame = encodeFrame(3, Buffer.alloc(30_000, 5));
    decoder.push(frame.subarray(0, 10_000), () => expect.fail('no whole frame was pushed'));
    expect(arena.heldBytes()).toBe(30_000);
    const partial = decoder.abandon();
    expect(partial?.length).toBe(30_000);
    arena.release(partial!);
    expect(arena.heldBytes()).toBe(0);
    expect(decoder.abandon()).toBeUndefined();
    // The decoder starts over at a frame boundary.
    const got: Buffer[] = [];
    decoder.push(encodeFrame(1, Buffer.from('next')), (_kind, payload) => got.push(payload));
    expect(got.map(String)).toEqual(['next']);
  });
});
