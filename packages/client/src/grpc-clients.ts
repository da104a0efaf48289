import { credentials, status as GrpcStatus, type Client, type ClientUnaryCall, type Metadata, type ServiceError } from '@grpc/grpc-js';
import {
  FAST_RECONNECT_CHANNEL_OPTIONS,
  abortedError,
  adminServiceClient,
  fromGrpcError,
  messagingServiceClient,
  routeServiceClient,
  type ErrorDetails,
} from '@roomq/protocol';

/** Largest message the SDK accepts from a server: record frames carry whole records, bodies up to 4 MiB each. */
const MAX_RECEIVE_MESSAGE_BYTES = 64 * 1024 * 1024;

/**
 * HTTP/2 receive window, per stream and per connection. The default 64 KiB makes a broker wait for a
 * WINDOW_UPDATE every 64 KiB of a 1 MiB record frame; 8 MiB keeps several frames in flight per queue.
 * Backpressure still holds: a paused subscription stops reading and the window closes behind it.
 */
const FLOW_CONTROL_WINDOW_BYTES = 8 * 1024 * 1024;

const CHANNEL_OPTIONS = {
  'grpc.max_receive_message_length': MAX_RECEIVE_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_RECEIVE_MESSAGE_BYTES,
  'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW_BYTES,
  ...FAST_RECONNECT_CHANNEL_OPTIONS,
};

type ServiceName = 'messaging' | 'admin' | 'route';

const SERVICES = { messaging: messagingServiceClient, admin: adminServiceClient, route: routeServiceClient } as const;

/** A grpc-js client whose methods are looked up by name (proto-loader gives them no static types). */
export type DynamicClient = Client & Record<string, (...args: unknown[]) => unknown>;

/**
 * One grpc-js client per (service, endpoint), created on first use and closed together. Calls to one
 * endpoint share one HTTP/2 connection (grpc-js pools subchannels by target).
 */
export class ServiceClients {
  private readonly clients = new Map<string, DynamicClient>();
  private closed = false;

  client(service: ServiceName, endpoint: string): DynamicClient {
    const key = `${service} ${endpoint}`;
    let client = this.clients.get(key);
    if (!client) {
      if (this.closed) throw new Error('service clients are closed');
      const ctor = SERVICES[service]();
      client = new ctor(endpoint, credentials.createInsecure(), CHANNEL_OPTIONS) as unknown as DynamicClient;
      this.clients.set(key, client);
    }
    return client;
  }

  /** Closes the clients of one endpoint, e.g. after a broker left the route. */
  forget(endpoint: string): void {
    for (const [key, client] of this.clients) {
      if (key.endsWith(` ${endpoint}`)) {
        this.clients.delete(key);
        closeQuietly(client);
      }
    }
  }

  close(): void {
    this.closed = true;
    for (const client of this.clients.values()) closeQuietly(client);
    this.clients.clear();
  }
}

function closeQuietly(client: Client): void {
  try {
    client.close();
  } catch {
    // Closing an already-closed channel is harmless.
  }
}

export interface UnaryOptions {
  metadata: Metadata;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** Structured context for errors (endpoint, broker, topic, ...). */
  context: ErrorDetails;
}

/** One unary call with a deadline; transport failures become RoomqErrors (UNAVAILABLE, TIMEOUT, ABORTED). */
export function unaryCall<Res>(client: DynamicClient, method: string, request: object, options: UnaryOptions): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    const { signal } = options;
    if (signal?.aborted) {
      reject(abortedError(signal));
      return;
    }
    const fn = client[method];
    if (typeof fn !== 'function') {
      reject(new Error(`gRPC method ${method} is not defined`));
      return;
    }
    const onAbort = (): void => call.cancel();
    const call = fn.call(client, request, options.metadata, { deadline: Date.now() + options.timeoutMs }, (err: ServiceError | null, response: Res) => {
      signal?.removeEventListener('abort', onAbort);
      if (!err) resolve(response);
      else if (err.code === GrpcStatus.CANCELLED && signal?.aborted) reject(abortedError(signal));
      else reject(fromGrpcError(err, options.context));
    }) as ClientUnaryCall;
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
