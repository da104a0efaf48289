import type {
  handleBidiStreamingCall,
  handleServerStreamingCall,
  handleUnaryCall,
  ServerDuplexStream,
  ServerUnaryCall,
  ServerWritableStream,
  UntypedHandleCall,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { RoomqError, isRoomqError } from './errors.js';
import type { Logger } from './logger.js';
import { toWireStatus, type WireStatus } from './wire-status.js';

/**
 * Adapters between grpc-js handlers and a server's async logic, shared by every roomq server. Every reply of
 * roomq.v1 and apache.rocketmq.v2 carries a `status`, so failures travel as statuses (the way RocketMQ clients
 * expect them), never as gRPC errors: a thrown RoomqError becomes its status, anything else INTERNAL plus an
 * error log line. No handler can crash the process or leave a call unanswered.
 */

export type Reply = { status?: WireStatus | null };

export interface GrpcHandlers {
  /** A unary handler whose failures, thrown or rejected, become the reply's status. */
  unary<Req, Res extends Reply>(logger: Logger, method: string, handler: (call: ServerUnaryCall<Req, Res>) => Promise<Res> | Res): handleUnaryCall<Req, Res>;
  /** The status a failure travels as; unexpected ones and storage failures are logged at error. */
  failureStatus(logger: Logger, method: string, err: unknown): WireStatus;
  /** A server stream that writes one reply with `status` and ends: how unsupported streaming calls answer. */
  statusOnlyServerStream<Req, Res extends Reply>(logger: Logger, method: string, error: RoomqError): handleServerStreamingCall<Req, Res>;
  /** A bidi stream that writes one frame with `status`, ignores what the peer sends, and ends. */
  statusOnlyBidiStream<Req, Res extends Reply>(logger: Logger, method: string, error: RoomqError): handleBidiStreamingCall<Req, Res>;
  /**
   * Answers every RPC of `definition` that `implemented` lacks with NOT_IMPLEMENTED at once, in the shape of the
   * call; `hints` tells callers what to use instead.
   */
  withUnsupported(
    logger: Logger,
    implemented: UntypedServiceImplementation,
    definition: Record<string, { requestStream: boolean; responseStream: boolean; originalName?: string }>,
    hints?: Readonly<Record<string, string>>,
  ): UntypedServiceImplementation;
}

/** The handlers of one kind of server; `where` ("router", "broker") names it in messages. */
export function grpcHandlers(where: string): GrpcHandlers {
  const failureStatus = (logger: Logger, method: string, err: unknown): WireStatus => {
    if (isRoomqError(err) && err.code !== 'INTERNAL') {
      if (err.code === 'STORAGE_FAILED') logger.error({ method, err }, `${method} failed`);
      else logger.debug({ method, code: err.code, err: err.message }, 'request refused');
      return toWireStatus(err);
    }
    logger.error({ method, err }, 'request handler failed');
    const text = err instanceof Error ? err.message : String(err);
    return toWireStatus(new RoomqError('INTERNAL', `${method} failed inside the ${where}: ${text}; see the ${where} log`, { cause: err }));
  };

  const statusOnlyServerStream = <Req, Res extends Reply>(logger: Logger, method: string, error: RoomqError): handleServerStreamingCall<Req, Res> => {
    return (call: ServerWritableStream<Req, Res>) => {
      call.on('error', (err) => logger.debug({ method, err }, 'stream error'));
      try {
        logger.debug({ method, peer: call.getPeer() }, 'unsupported call');
        call.write({ status: toWireStatus(error) } as Res);
      } catch (err) {
        logger.error({ method, err }, 'cannot answer stream');
      }
      call.end();
    };
  };

  const statusOnlyBidiStream = <Req, Res extends Reply>(logger: Logger, method: string, error: RoomqError): handleBidiStreamingCall<Req, Res> => {
    return (call: ServerDuplexStream<Req, Res>) => {
      call.on('error', (err) => logger.debug({ method, err }, 'stream error'));
      call.on('data', () => undefined);
      try {
        logger.debug({ method, peer: call.getPeer() }, 'unsupported call');
        call.write({ status: toWireStatus(error) } as Res);
      } catch (err) {
        logger.error({ method, err }, 'cannot answer stream');
      }
      call.end();
    };
  };

  const unary = <Req, Res extends Reply>(logger: Logger, method: string, handler: (call: ServerUnaryCall<Req, Res>) => Promise<Res> | Res): handleUnaryCall<Req, Res> => {
    return (call, callback) => {
      let settled = false;
      const answer = (reply: Res): void => {
        if (settled) return;
        settled = true;
        callback(null, reply);
      };
      Promise.resolve()
        .then(() => handler(call))
        .then(answer, (err: unknown) => answer({ status: failureStatus(logger, method, err) } as Res));
    };
  };

  const withUnsupported: GrpcHandlers['withUnsupported'] = (logger, implemented, definition, hints = {}) => {
    const out: UntypedServiceImplementation = { ...implemented };
    for (const [key, method] of Object.entries(definition)) {
      const names = [key, method.originalName].filter((n): n is string => typeof n === 'string');
      if (names.some((n) => n in implemented)) continue;
      const hint = hints[key];
      const error = new RoomqError('NOT_IMPLEMENTED', `${key} is not supported by the roomq ${where} yet${hint ? `; ${hint}` : ''}`);
      let handler: UntypedHandleCall;
      if (!method.requestStream && !method.responseStream) {
        handler = unary<unknown, Reply>(logger, key, () => {
          throw error;
        });
      } else if (!method.requestStream) handler = statusOnlyServerStream(logger, key, error);
      else handler = statusOnlyBidiStream(logger, key, error);
      for (const n of names) out[n] = handler;
    }
    return out;
  };

  return { unary, failureStatus, statusOnlyServerStream, statusOnlyBidiStream, withUnsupported };
}
