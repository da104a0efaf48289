import { randomBytes } from 'node:crypto';

/**
 * Message IDs in the RocketMQ 5 shape: "01" then 32 hex digits, made of 8 random bytes, the second the prefix
 * was made and a counter. Unique without coordination; ordered within one generator.
 */
export class MessageIdGenerator {
  private prefix = MessageIdGenerator.freshPrefix();
  private counter = 0;

  next(): string {
    this.counter = (this.counter + 1) >>> 0;
    // After 2^32 IDs the counter wraps: a fresh random prefix keeps IDs unique.
    if (this.counter === 0) this.prefix = MessageIdGenerator.freshPrefix();
    return this.prefix + this.counter.toString(16).toUpperCase().padStart(8, '0');
  }

  private static freshPrefix(): string {
    const seconds = Math.floor(Date.now() / 1000) >>> 0;
    return `01${randomBytes(8).toString('hex')}${seconds.toString(16).padStart(8, '0')}`.toUpperCase();
  }
}
