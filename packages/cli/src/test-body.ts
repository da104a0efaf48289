import { createHash } from 'node:crypto';

/**
 * Bodies that `roomq produce` sends and `roomq consume` checks: a SHA-256 of the key, repeated to the size,
 * so a consumer can prove a body is intact knowing only its key.
 */
export function testBody(key: string, size: number): Buffer {
  const seed = createHash('sha256').update(key).digest();
  const body = Buffer.allocUnsafe(size);
  for (let at = 0; at < size; at += seed.length) seed.copy(body, at, 0, Math.min(seed.length, size - at));
  return body;
}

export function testBodyIntact(key: string, body: Buffer): boolean {
  return testBody(key, body.length).equals(body);
}
