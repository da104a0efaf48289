/** Small byte helpers shared by codecs. Numbers above 2^53 never occur in roomq offsets or timestamps. */

const TWO_32 = 0x1_0000_0000;

export function writeU64(buf: Buffer, value: number, at: number): void {
  buf.writeUInt32BE(Math.floor(value / TWO_32), at);
  buf.writeUInt32BE(value >>> 0, at + 4);
}

export function readU64(buf: Buffer, at: number): number {
  return buf.readUInt32BE(at) * TWO_32 + buf.readUInt32BE(at + 4);
}

/**
 * Where the bytes of `buf[from, to)` that are not zero end; `from` when they are all zero. Used to tell a log's
 * zero-filled (preallocated) space from bytes written to it. An all-zero range costs one memcmp of the range
 * against itself shifted by a byte, not a loop in JavaScript.
 */
export function nonZeroEnd(buf: Buffer, from = 0, to = buf.length): number {
  if (to <= from || (buf[from] === 0 && buf.compare(buf, from + 1, to, from, to - 1) === 0)) return from;
  let end = to;
  while (buf[end - 1] === 0) end--;
  return end;
}
