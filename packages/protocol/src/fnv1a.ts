/**
 * 32-bit FNV-1a over a string's UTF-16 code units. Stable across processes and Node versions: the broker stores
 * it on disk (consume-queue tag hashes, index entries) and the client picks a queue from a sharding key with it.
 */

/**
 * String.prototype.charCodeAt, called through `.call`: these hashes see strings of many internal kinds (decoded
 * from a buffer, sliced, concatenated, internalized), each a different map to V8, so `value.charCodeAt` saw more
 * maps than an inline cache keeps and TurboFan left a generic property lookup in the loop, one per character.
 * That was 11% of a master's CPU samples in a chain (`perf`, Builtins_LoadIC), and a 32-character message ID
 * cost ~400 ns to hash; called as a known function it is ~90 ns, whatever the strings' kinds.
 */
const charCodeAt = String.prototype.charCodeAt;

export const FNV1A_OFFSET_BASIS = 0x811c9dc5;

export function fnv1a(value: string, seed = FNV1A_OFFSET_BASIS): number {
  let h = seed;
  const length = value.length;
  for (let i = 0; i < length; i++) {
    h ^= charCodeAt.call(value, i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
