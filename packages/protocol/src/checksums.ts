import { crc32 as nativeCrc32, crc32c as nativeCrc32c } from '@node-rs/crc32';

/** CRC32C (Castagnoli) of `buf[start, end)`: the checksum of roomq records. Hardware accelerated. */
export function crc32c(buf: Buffer, start = 0, end = buf.length): number {
  const view = start === 0 && end === buf.length ? buf : buf.subarray(start, end);
  return nativeCrc32c(view) >>> 0;
}

/**
 * Continues a CRC32C (`crc`, a previous result; 0 for none) over all of `buf`, natively and without making a
 * view: crc32cAppend(crc32c(a), b) === crc32c(a ‖ b).
 */
export function crc32cAppend(crc: number, buf: Uint8Array): number {
  return nativeCrc32c(buf, crc) >>> 0;
}

/** Byte-at-a-time table for CRC32C (reflected polynomial 0x82f63b78). */
const CRC32C_TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/**
 * Continues a CRC32C over `buf[start, end)` in JavaScript. For a few dozen bytes this is cheaper than the
 * native call (whose fixed cost is ~100 ns) and needs no view; use crc32c/crc32cAppend for anything longer.
 */
export function crc32cSmall(crc: number, buf: Uint8Array, start: number, end: number): number {
  let c = ~crc;
  for (let i = start; i < end; i++) c = CRC32C_TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** CRC32 (IEEE), the `body_digest` RocketMQ clients check. */
export function crc32(buf: Buffer): number {
  return nativeCrc32(buf) >>> 0;
}
