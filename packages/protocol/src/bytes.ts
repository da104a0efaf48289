/** Small byte helpers shared by codecs. Numbers above 2^53 never occur in roomq offsets or timestamps. */

const TWO_32 = 0x1_0000_0000;

export function writeU64(buf: Buffer, value: number, at: number): void {
  buf.writeUInt32BE(Math.floor(value / TWO_32), at);
  buf.writeUInt32BE(value >>> 0, at + 4);
}

export function readU64(buf: Buffer, at: number): number {
  return buf.readUInt32BE(at) * TWO_32 + buf.readUInt32BE(at + 4);
}
