/**
 * The one error type of roomq. Every failure a caller can see is a RoomqError with a stable `code`, a
 * `retriable` flag (true when the same request may succeed on another broker or later) and structured
 * details (topic, broker, offset, ...). Messages say what to do about the failure.
 */

/** Stable error codes. The wire mapping lives in wire-status.ts; do not renumber there. */
export const ERROR_CODES = [
  'BAD_REQUEST',
  'INVALID_TOPIC',
  'INVALID_GROUP',
  'INVALID_TAG',
  'INVALID_KEY',
  'INVALID_PROPERTY',
  'INVALID_MESSAGE_ID',
  'INVALID_OFFSET',
  'CLIENT_ID_REQUIRED',
  'BODY_TOO_LARGE',
  'PROPERTIES_TOO_LARGE',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'TOPIC_NOT_FOUND',
  'GROUP_NOT_FOUND',
  'MESSAGE_NOT_FOUND',
  'OFFSET_NOT_FOUND',
  'TOPIC_EXISTS',
  'VERSION_CONFLICT',
  'REPLICA_DIVERGED',
  'TOO_MANY_REQUESTS',
  'MESSAGE_CORRUPTED',
  'STORAGE_FAILED',
  'PERSISTENCE_TIMEOUT',
  'REPLICATION_TIMEOUT',
  'TIMEOUT',
  'UNAVAILABLE',
  'NO_ROUTE',
  'NOT_IMPLEMENTED',
  'INTERNAL',
  'CLOSED',
  'ABORTED',
  'CONFIG_INVALID',
  'ROOM_CUT',
  'LEASE_EXPIRED',
  'NOT_LEADER',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Codes where the same request may succeed if sent again, possibly to another broker. */
const RETRIABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'TOO_MANY_REQUESTS',
  'STORAGE_FAILED',
  'PERSISTENCE_TIMEOUT',
  'REPLICATION_TIMEOUT',
  'TIMEOUT',
  'UNAVAILABLE',
  'FORBIDDEN',
  'INTERNAL',
  // Fences: the write belongs in another room or at another member, which the producer's next route names.
  'ROOM_CUT',
  'LEASE_EXPIRED',
  'NOT_LEADER',
]);

export function isRetriableCode(code: ErrorCode): boolean {
  return RETRIABLE.has(code);
}

/** Structured context; never build these into the message string only. */
export interface ErrorDetails {
  topic?: string;
  group?: string;
  queueId?: number;
  offset?: number;
  broker?: string;
  room?: string;
  endpoint?: string;
  field?: string;
  [key: string]: unknown;
}

export interface RoomqErrorOptions {
  details?: ErrorDetails;
  cause?: unknown;
  /** Overrides the code's default retriability, e.g. a timeout after which a retry would duplicate. */
  retriable?: boolean;
}

export class RoomqError extends Error {
  override readonly name = 'RoomqError';
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, options: RoomqErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retriable = options.retriable ?? isRetriableCode(code);
    this.details = options.details ?? {};
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, retriable: this.retriable, details: this.details };
  }
}

export function isRoomqError(err: unknown, code?: ErrorCode): err is RoomqError {
  return err instanceof RoomqError && (code === undefined || err.code === code);
}

/** Wraps anything thrown into a RoomqError, keeping RoomqErrors as they are. */
export function toRoomqError(err: unknown, fallback: ErrorCode = 'INTERNAL', context = ''): RoomqError {
  if (err instanceof RoomqError) return err;
  const text = err instanceof Error ? err.message : String(err);
  return new RoomqError(fallback, context ? `${context}: ${text}` : text, { cause: err });
}
