import type { FifoQueue } from './fifo-queue.js';

/**
 * Batching decisions of the producer, free of I/O. There is no linger timer: a lane writes a frame as soon as
 * it may have another frame in flight, so a lone message leaves at once, and messages that arrive while
 * frames are in flight gather into the next frame (natural batching).
 */

export interface BatchLimits {
  maxMessages: number;
  maxBytes: number;
}

export interface Sized {
  /** Encoded size of the message in a publish frame. */
  sizeBytes: number;
}

/** Takes the next frame's messages, oldest first: up to the limits, always at least one (an oversized message goes alone). */
export function takeBatch<T extends Sized>(pending: FifoQueue<T>, limits: BatchLimits): T[] {
  const batch: T[] = [];
  let bytes = 0;
  for (let next = pending.peek(); next !== undefined; next = pending.peek()) {
    if (batch.length > 0 && (batch.length >= limits.maxMessages || bytes + next.sizeBytes > limits.maxBytes)) break;
    batch.push(pending.shift()!);
    bytes += next.sizeBytes;
  }
  return batch;
}

/** Whether a lane writes a frame now: it has messages, room for another frame in flight and a stream that is not full. */
export function shouldWriteFrame(state: { pending: number; framesInFlight: number; streamWritable: boolean }, maxFramesInFlight: number): boolean {
  return state.pending > 0 && state.streamWritable && state.framesInFlight < maxFramesInFlight;
}
