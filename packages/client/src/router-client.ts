import type { ClientReadableStream, Metadata } from '@grpc/grpc-js';
import {
  RoomqError,
  fromWireStatus,
  isRoomqError,
  type ErrorDetails,
  type Logger,
  type WatchEventMsg,
  type WatchRequestMsg,
  type WireStatus,
} from '@roomq/protocol';
import { unaryCall, type ServiceClients } from './grpc-clients.js';

export interface RouterClientOptions {
  /** `host:port` of each router, in order of preference (usually the client's own room first). */
  routers: readonly string[];
  clients: ServiceClients;
  metadata: Metadata;
  timeoutMs: number;
  logger: Logger;
}

/**
 * roomq RouteService calls with router failover. Calls go to the router that answered last (the first one
 * at start); a router that cannot be reached, times out, or does not serve RouteService is skipped and the
 * next one tried. An answer such as TOPIC_NOT_FOUND is final: every router serves the same control state.
 */
export class RouterClient {
  private preferred = 0;

  constructor(private readonly options: RouterClientOptions) {}

  get routers(): readonly string[] {
    return this.options.routers;
  }

  /** The router calls start at now. */
  current(): string {
    return this.options.routers[this.preferred]!;
  }

  /** `endpoint` failed in a way that says it is gone: later calls start at the router after it. */
  markUnavailable(endpoint: string): void {
    if (this.current() !== endpoint || this.options.routers.length < 2) return;
    this.preferred = (this.preferred + 1) % this.options.routers.length;
    this.options.logger.warn({ router: endpoint, next: this.current() }, 'router unavailable; failing over to the next one');
  }

  /** One unary RouteService call; the reply's status is checked, so a resolved reply is a successful one. */
  async call<Res extends { status?: WireStatus | null }>(method: string, request: object, context: ErrorDetails, signal?: AbortSignal): Promise<Res> {
    const { routers } = this.options;
    let lastError: unknown;
    for (let i = 0; i < routers.length; i++) {
      const index = (this.preferred + i) % routers.length;
      const router = routers[index]!;
      try {
        const reply = await unaryCall<Res>(this.options.clients.client('route', router), method, request, {
          metadata: this.options.metadata,
          timeoutMs: this.options.timeoutMs,
          signal,
          context: { ...context, endpoint: router },
        });
        const err = fromWireStatus(reply.status ?? undefined, { ...context, endpoint: router });
        if (err) throw err;
        if (index !== this.preferred) {
          this.options.logger.info({ router, previous: routers[this.preferred] }, 'using another router');
          this.preferred = index;
        }
        return reply;
      } catch (err) {
        if (!shouldFailOver(err)) throw err;
        lastError = err;
        this.options.logger.warn({ router, method, code: (err as RoomqError).code, err }, 'router did not answer; trying the next one');
      }
    }
    throw new RoomqError('UNAVAILABLE', `no router answered ${method} (tried ${routers.join(', ')}); check the routers option and that a router runs`, {
      details: { ...context, routers: [...routers] },
      cause: lastError,
    });
  }

  /** Opens a Watch stream to `endpoint`; the caller handles its events, errors and end. */
  watch(endpoint: string, request: WatchRequestMsg): ClientReadableStream<WatchEventMsg> {
    const client = this.options.clients.client('route', endpoint);
    const open = client['Watch'] as (req: WatchRequestMsg, metadata: Metadata) => ClientReadableStream<WatchEventMsg>;
    return open.call(client, request, this.options.metadata);
  }
}

/** Retriable failures, and routers that do not serve RouteService (an older router in a rolling upgrade). */
export function shouldFailOver(err: unknown): boolean {
  if (!isRoomqError(err) || err.code === 'ABORTED') return false;
  return err.retriable || err.code === 'NOT_IMPLEMENTED';
}
