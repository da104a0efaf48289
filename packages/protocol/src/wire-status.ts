import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { ERROR_CODES, RoomqError, type ErrorCode, type ErrorDetails } from './errors.js';

/**
 * The one mapping between RoomqError codes and what travels on the wire: the RocketMQ v2 `Code` numbers
 * carried in `Status` messages, and gRPC status codes for transport-level failures.
 */

/** apache.rocketmq.v2.Code numbers (see proto/apache/rocketmq/v2/definition.proto). */
export const V2_CODE = {
  OK: 20000,
  MULTIPLE_RESULTS: 30000,
  BAD_REQUEST: 40000,
  ILLEGAL_TOPIC: 40002,
  ILLEGAL_CONSUMER_GROUP: 40003,
  ILLEGAL_MESSAGE_TAG: 40004,
  ILLEGAL_MESSAGE_KEY: 40005,
  ILLEGAL_MESSAGE_PROPERTY_KEY: 40007,
  ILLEGAL_MESSAGE_ID: 40009,
  MESSAGE_CORRUPTED: 40016,
  CLIENT_ID_REQUIRED: 40017,
  ILLEGAL_OFFSET: 40019,
  UNAUTHORIZED: 40100,
  FORBIDDEN: 40300,
  NOT_FOUND: 40400,
  MESSAGE_NOT_FOUND: 40401,
  TOPIC_NOT_FOUND: 40402,
  CONSUMER_GROUP_NOT_FOUND: 40403,
  OFFSET_NOT_FOUND: 40404,
  REQUEST_TIMEOUT: 40800,
  PAYLOAD_TOO_LARGE: 41300,
  MESSAGE_BODY_TOO_LARGE: 41301,
  PRECONDITION_FAILED: 42800,
  TOO_MANY_REQUESTS: 42900,
  MESSAGE_PROPERTIES_TOO_LARGE: 43101,
  INTERNAL_ERROR: 50000,
  INTERNAL_SERVER_ERROR: 50001,
  HA_NOT_AVAILABLE: 50002,
  NOT_IMPLEMENTED: 50100,
  PROXY_TIMEOUT: 50400,
  MASTER_PERSISTENCE_TIMEOUT: 50401,
  SLAVE_PERSISTENCE_TIMEOUT: 50402,
  UNSUPPORTED: 50500,
} as const;

const TO_V2: Record<ErrorCode, number> = {
  BAD_REQUEST: V2_CODE.BAD_REQUEST,
  INVALID_TOPIC: V2_CODE.ILLEGAL_TOPIC,
  INVALID_GROUP: V2_CODE.ILLEGAL_CONSUMER_GROUP,
  INVALID_TAG: V2_CODE.ILLEGAL_MESSAGE_TAG,
  INVALID_KEY: V2_CODE.ILLEGAL_MESSAGE_KEY,
  INVALID_PROPERTY: V2_CODE.ILLEGAL_MESSAGE_PROPERTY_KEY,
  INVALID_MESSAGE_ID: V2_CODE.ILLEGAL_MESSAGE_ID,
  INVALID_OFFSET: V2_CODE.ILLEGAL_OFFSET,
  CLIENT_ID_REQUIRED: V2_CODE.CLIENT_ID_REQUIRED,
  BODY_TOO_LARGE: V2_CODE.MESSAGE_BODY_TOO_LARGE,
  PROPERTIES_TOO_LARGE: V2_CODE.MESSAGE_PROPERTIES_TOO_LARGE,
  UNAUTHORIZED: V2_CODE.UNAUTHORIZED,
  FORBIDDEN: V2_CODE.FORBIDDEN,
  TOPIC_NOT_FOUND: V2_CODE.TOPIC_NOT_FOUND,
  GROUP_NOT_FOUND: V2_CODE.CONSUMER_GROUP_NOT_FOUND,
  MESSAGE_NOT_FOUND: V2_CODE.MESSAGE_NOT_FOUND,
  OFFSET_NOT_FOUND: V2_CODE.OFFSET_NOT_FOUND,
  TOPIC_EXISTS: V2_CODE.PRECONDITION_FAILED,
  VERSION_CONFLICT: V2_CODE.PRECONDITION_FAILED,
  REPLICA_DIVERGED: V2_CODE.PRECONDITION_FAILED,
  REPLICATION_TIMEOUT: V2_CODE.SLAVE_PERSISTENCE_TIMEOUT,
  TOO_MANY_REQUESTS: V2_CODE.TOO_MANY_REQUESTS,
  MESSAGE_CORRUPTED: V2_CODE.MESSAGE_CORRUPTED,
  STORAGE_FAILED: V2_CODE.INTERNAL_SERVER_ERROR,
  PERSISTENCE_TIMEOUT: V2_CODE.MASTER_PERSISTENCE_TIMEOUT,
  TIMEOUT: V2_CODE.PROXY_TIMEOUT,
  UNAVAILABLE: V2_CODE.HA_NOT_AVAILABLE,
  NO_ROUTE: V2_CODE.NOT_FOUND,
  NOT_IMPLEMENTED: V2_CODE.NOT_IMPLEMENTED,
  INTERNAL: V2_CODE.INTERNAL_ERROR,
  CLOSED: V2_CODE.INTERNAL_ERROR,
  ABORTED: V2_CODE.INTERNAL_ERROR,
  CONFIG_INVALID: V2_CODE.BAD_REQUEST,
  ROOM_CUT: V2_CODE.FORBIDDEN,
  LEASE_EXPIRED: V2_CODE.HA_NOT_AVAILABLE,
  NOT_LEADER: V2_CODE.FORBIDDEN,
};

/** Reverse map for codes that other servers may send; ours round-trip exactly via the `roomq-code` detail. */
const FROM_V2 = new Map<number, ErrorCode>([
  [V2_CODE.BAD_REQUEST, 'BAD_REQUEST'],
  [V2_CODE.ILLEGAL_TOPIC, 'INVALID_TOPIC'],
  [V2_CODE.ILLEGAL_CONSUMER_GROUP, 'INVALID_GROUP'],
  [V2_CODE.ILLEGAL_MESSAGE_TAG, 'INVALID_TAG'],
  [V2_CODE.ILLEGAL_MESSAGE_KEY, 'INVALID_KEY'],
  [V2_CODE.ILLEGAL_MESSAGE_PROPERTY_KEY, 'INVALID_PROPERTY'],
  [V2_CODE.ILLEGAL_MESSAGE_ID, 'INVALID_MESSAGE_ID'],
  [V2_CODE.ILLEGAL_OFFSET, 'INVALID_OFFSET'],
  [V2_CODE.CLIENT_ID_REQUIRED, 'CLIENT_ID_REQUIRED'],
  [V2_CODE.MESSAGE_BODY_TOO_LARGE, 'BODY_TOO_LARGE'],
  [V2_CODE.PAYLOAD_TOO_LARGE, 'BODY_TOO_LARGE'],
  [V2_CODE.MESSAGE_PROPERTIES_TOO_LARGE, 'PROPERTIES_TOO_LARGE'],
  [V2_CODE.UNAUTHORIZED, 'UNAUTHORIZED'],
  [V2_CODE.FORBIDDEN, 'FORBIDDEN'],
  [V2_CODE.NOT_FOUND, 'NO_ROUTE'],
  [V2_CODE.TOPIC_NOT_FOUND, 'TOPIC_NOT_FOUND'],
  [V2_CODE.CONSUMER_GROUP_NOT_FOUND, 'GROUP_NOT_FOUND'],
  [V2_CODE.MESSAGE_NOT_FOUND, 'MESSAGE_NOT_FOUND'],
  [V2_CODE.OFFSET_NOT_FOUND, 'OFFSET_NOT_FOUND'],
  [V2_CODE.PRECONDITION_FAILED, 'TOPIC_EXISTS'],
  [V2_CODE.TOO_MANY_REQUESTS, 'TOO_MANY_REQUESTS'],
  [V2_CODE.MESSAGE_CORRUPTED, 'MESSAGE_CORRUPTED'],
  [V2_CODE.INTERNAL_SERVER_ERROR, 'STORAGE_FAILED'],
  [V2_CODE.MASTER_PERSISTENCE_TIMEOUT, 'PERSISTENCE_TIMEOUT'],
  [V2_CODE.PROXY_TIMEOUT, 'TIMEOUT'],
  [V2_CODE.REQUEST_TIMEOUT, 'TIMEOUT'],
  [V2_CODE.HA_NOT_AVAILABLE, 'UNAVAILABLE'],
  [V2_CODE.NOT_IMPLEMENTED, 'NOT_IMPLEMENTED'],
  [V2_CODE.UNSUPPORTED, 'NOT_IMPLEMENTED'],
  [V2_CODE.INTERNAL_ERROR, 'INTERNAL'],
]);

/** The v2 `Status` message as roomq servers write it. */
export interface WireStatus {
  code: number;
  message: string;
}

/** A status as it may arrive: proto-loader gives enum names for v2 `Code`, numbers for roomq's int32. */
export interface IncomingStatus {
  code?: number | string | null;
  message?: string | null;
}

/**
 * Encodes an error as a v2 Status. Our own code travels as a `[roomq:CODE]` prefix in the message so roomq
 * clients recover the exact code, while other RocketMQ clients still see a meaningful v2 code.
 */
export function toWireStatus(err: RoomqError): WireStatus {
  const detail = Object.keys(err.details).length > 0 ? ` ${JSON.stringify(err.details)}` : '';
  return { code: TO_V2[err.code], message: `[roomq:${err.code}] ${err.message}${detail}` };
}

export function okStatus(message = 'OK'): WireStatus {
  return { code: V2_CODE.OK, message };
}

const PREFIX = /^\[roomq:([A-Z_]+)\] ([\s\S]*?)(?: (\{[\s\S]*\}))?$/;

/** Decodes a v2 Status; returns undefined for success codes. */
export function fromWireStatus(status: IncomingStatus | null | undefined, context: ErrorDetails = {}): RoomqError | undefined {
  if (!status) return undefined;
  const numeric = typeof status.code === 'number' ? status.code : v2CodeNumber(status.code ?? '');
  if (numeric === V2_CODE.OK || numeric === V2_CODE.MULTIPLE_RESULTS || numeric === V2_CODE.MESSAGE_NOT_FOUND) return undefined;
  const match = PREFIX.exec(status.message ?? '');
  if (match && (ERROR_CODE_SET as Set<string>).has(match[1]!)) {
    let details: ErrorDetails = {};
    if (match[3]) {
      try {
        details = JSON.parse(match[3]) as ErrorDetails;
      } catch {
        details = {};
      }
    }
    return new RoomqError(match[1] as ErrorCode, match[2]!, { details: { ...context, ...details } });
  }
  const code = FROM_V2.get(numeric) ?? 'INTERNAL';
  return new RoomqError(code, status.message || `server answered status ${status.code}`, { details: context });
}

const ERROR_CODE_SET = new Set<string>(ERROR_CODES);

function v2CodeNumber(name: string): number {
  const value = (V2_CODE as Record<string, number>)[name];
  return value ?? Number.NaN;
}

/** gRPC status for errors that end a call instead of travelling in a Status message. */
export function toGrpcStatus(err: RoomqError): GrpcStatus {
  switch (err.code) {
    case 'NOT_IMPLEMENTED':
      return GrpcStatus.UNIMPLEMENTED;
    case 'UNAUTHORIZED':
      return GrpcStatus.UNAUTHENTICATED;
    case 'FORBIDDEN':
    case 'ROOM_CUT':
    case 'NOT_LEADER':
      return GrpcStatus.PERMISSION_DENIED;
    case 'TOPIC_NOT_FOUND':
    case 'GROUP_NOT_FOUND':
    case 'MESSAGE_NOT_FOUND':
    case 'OFFSET_NOT_FOUND':
    case 'NO_ROUTE':
      return GrpcStatus.NOT_FOUND;
    case 'TOO_MANY_REQUESTS':
      return GrpcStatus.RESOURCE_EXHAUSTED;
    case 'TIMEOUT':
    case 'PERSISTENCE_TIMEOUT':
      return GrpcStatus.DEADLINE_EXCEEDED;
    case 'UNAVAILABLE':
    case 'STORAGE_FAILED':
    case 'LEASE_EXPIRED':
      return GrpcStatus.UNAVAILABLE;
    case 'MESSAGE_CORRUPTED':
      return GrpcStatus.DATA_LOSS;
    case 'INTERNAL':
    case 'CLOSED':
      return GrpcStatus.INTERNAL;
    case 'ABORTED':
      return GrpcStatus.CANCELLED;
    default:
      return GrpcStatus.INVALID_ARGUMENT;
  }
}

/** A grpc-js error for `callback(err)` / `call.destroy(err)`, carrying the same `[roomq:CODE]` prefix. */
export function toGrpcError(err: RoomqError): Partial<ServiceError> {
  return { code: toGrpcStatus(err), details: toWireStatus(err).message, message: toWireStatus(err).message };
}

/** Turns a failed gRPC call into a RoomqError: transport failures are retriable UNAVAILABLE or TIMEOUT. */
export function fromGrpcError(err: unknown, context: ErrorDetails = {}): RoomqError {
  if (err instanceof RoomqError) return err;
  const e = err as Partial<ServiceError> | undefined;
  const details = e?.details ?? (err instanceof Error ? err.message : String(err));
  const embedded = fromWireStatus({ code: V2_CODE.INTERNAL_ERROR, message: details }, context);
  if (embedded && /^\[roomq:/.test(details)) return embedded;
  switch (e?.code) {
    case GrpcStatus.UNAVAILABLE:
      return new RoomqError('UNAVAILABLE', `cannot reach ${context.endpoint ?? 'the server'}: ${details}; check that it is running and reachable`, { details: context, cause: err });
    case GrpcStatus.DEADLINE_EXCEEDED:
      return new RoomqError('TIMEOUT', `no answer from ${context.endpoint ?? 'the server'} before the deadline: ${details}`, { details: context, cause: err });
    case GrpcStatus.CANCELLED:
      return new RoomqError('ABORTED', `call cancelled: ${details}`, { details: context, cause: err });
    case GrpcStatus.UNIMPLEMENTED:
      return new RoomqError('NOT_IMPLEMENTED', `server does not support this call: ${details}`, { details: context, cause: err });
    case GrpcStatus.RESOURCE_EXHAUSTED:
      return new RoomqError('TOO_MANY_REQUESTS', details, { details: context, cause: err });
    default:
      return new RoomqError('INTERNAL', `call failed: ${details}`, { details: context, cause: err });
  }
}
