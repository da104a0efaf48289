import { RoomqError } from './errors.js';

/**
 * Framing of roomq's own TCP protocols (chain replication, the SDK's data path), which share a broker's port
 * with gRPC (port-sniffer.ts):
 *
 *   frame  u32 BE length of what follows | u8 kind | payload
 *
 * What the kinds and payloads are is each protocol's (replication-frames.ts in @roomq/replicator,
 * data-frames.ts here).
 */
export const FRAME_HEADER_BYTES = 5;
/** Larger frames are refused: a guard against garbage, far above any batch a broker sends or takes. */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;

/** The 5-byte header of a frame whose payload is `payloadBytes` long, with `extra` bytes of room after it. */
export function frameHeader(kind: number, payloadBytes: number, extra = 0): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES + extra);
  header.writeUInt32BE(1 + payloadBytes, 0);
  header[4] = kind;
  return header;
}

/** One buffer holding a whole frame. */
export function encodeFrame(kind: number, payload: Uint8Array): Buffer {
  const out = frameHeader(kind, payload.length, payload.length);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/**
 * Cuts a byte stream into frames. Bytes arrive in socket-sized pieces; a payload wholly inside one piece is
 * served as a view of it (unless the pieces are reused), any other is gathered into one buffer of its size as
 * soon as its length is known, so each byte is copied at most once.
 */
export class FrameDecoder {
  private readonly header = Buffer.alloc(FRAME_HEADER_BYTES);
  private headerFilled = 0;
  private payload: Buffer | undefined;
  private payloadFilled = 0;
  private kind = 0;

  /**
   * @param stream names the stream in errors, e.g. `replication stream`.
   * @param maxFrameBytes larger frames are refused before anything is allocated for them.
   * @param reusedInput the caller reuses the bytes it pushes once push() returns (a socket reading into one
   *   buffer): every payload is then gathered into a buffer of its own, also one wholly inside a piece.
   * @param gatherInto where a payload of a kind and size is gathered (a ReceiveArena's view, which the frame's
   *   consumer releases), or undefined for a buffer of its own.
   */
  constructor(
    private readonly stream: string,
    private readonly maxFrameBytes = MAX_FRAME_BYTES,
    private readonly reusedInput = false,
    private readonly gatherInto: (kind: number, size: number) => Buffer | undefined = () => undefined,
  ) {}

  /** Calls `onFrame` for every whole frame in `bytes` (and what came before); throws BAD_REQUEST on a malformed stream. */
  push(bytes: Buffer, onFrame: (kind: number, payload: Buffer) => void): void {
    let at = 0;
    while (at < bytes.length) {
      if (this.payload === undefined) {
        const n = Math.min(FRAME_HEADER_BYTES - this.headerFilled, bytes.length - at);
        bytes.copy(this.header, this.headerFilled, at, at + n);
        this.headerFilled += n;
        at += n;
        if (this.headerFilled < FRAME_HEADER_BYTES) return;
        const length = this.header.readUInt32BE(0);
        if (length < 1 || length > this.maxFrameBytes) throw this.malformed(`a frame claims ${length} bytes (at least 1, at most ${this.maxFrameBytes})`);
        this.kind = this.header[4]!;
        const size = length - 1;
        if (bytes.length - at >= size && !this.reusedInput) {
          const payload = bytes.subarray(at, at + size);
          at += size;
          this.headerFilled = 0;
          onFrame(this.kind, payload);
          continue;
        }
        this.payload = this.gatherInto(this.kind, size) ?? Buffer.allocUnsafe(size);
        this.payloadFilled = 0;
      }
      const payload = this.payload;
      const n = Math.min(payload.length - this.payloadFilled, bytes.length - at);
      bytes.copy(payload, this.payloadFilled, at, at + n);
      this.payloadFilled += n;
      at += n;
      if (this.payloadFilled < payload.length) return;
      this.payload = undefined;
      this.headerFilled = 0;
      onFrame(this.kind, payload);
    }
  }

  /**
   * Forgets a frame cut off by the end of the stream and returns what of its payload was gathered, so a caller
   * that gathers into an arena can release it; undefined when no frame was under way.
   */
  abandon(): Buffer | undefined {
    const partial = this.payload;
    this.payload = undefined;
    this.headerFilled = 0;
    return partial;
  }

  malformed(what: string): RoomqError {
    return new RoomqError('BAD_REQUEST', `malformed ${this.stream}: ${what}`);
  }
}
