/**
 * Big-endian writes for the store's per-message hot paths (consume-queue and index entries): plain byte stores,
 * without Buffer's per-call argument checks. Callers keep `at` inside the buffer and values in range (u32: an
 * integer in [0, 2^32); u64: a safe non-negative integer, see @roomq/protocol bytes.ts).
 */

export function putU32(target: Uint8Array, at: number, value: number): void {
  target[at] = value >>> 24;
  target[at + 1] = value >>> 16;
  target[at + 2] = value >>> 8;
  target[at + 3] = value;
}

export function putU64(target: Uint8Array, at: number, value: number): void {
  putU32(target, at, Math.floor(value / 0x1_0000_0000));
  putU32(target, at + 4, value >>> 0);
}
