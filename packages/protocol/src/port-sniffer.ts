import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { ServerCredentials, type Server as GrpcServer } from '@grpc/grpc-js';

/** A protocol sharing the port with gRPC: connections that open with `preface` are handed to `accept`. */
export interface SniffedProtocol {
  preface: Buffer;
  /** Takes over the socket; `rest` holds the bytes that came after the preface in the same read. */
  accept(socket: Socket, rest: Buffer): void;
}

export interface SniffingListener {
  /** The bound port (the real one when 0 was asked for). */
  port: number;
  /** Stops accepting connections; open ones are the protocols' and gRPC server's to end. */
  close(): Promise<void>;
}

/** A connection that has not said which protocol it speaks within this long is dropped. */
const SNIFF_TIMEOUT_MS = 10_000;

/**
 * One TCP port for gRPC and roomq's own protocols (chain replication): every connection's first bytes are
 * compared with each protocol's preface; a match hands the socket to that protocol, anything else (the HTTP/2
 * preface "PRI * HTTP/2.0...") goes to the gRPC server through its connection injector, with the bytes read
 * so far put back. Operators, proxies and firewalls keep dealing with one address per broker.
 */
export function listenSniffing(host: string, port: number, grpc: GrpcServer, protocols: readonly SniffedProtocol[]): Promise<SniffingListener> {
  const injector = grpc.createConnectionInjector(ServerCredentials.createInsecure());
  // Half-open allowed: a client that ends its side of a data stream still gets the acks due to it.
  const server: NetServer = createServer({ allowHalfOpen: true }, (socket) => sniff(socket, protocols, (s) => injector.injectConnection(s)));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      resolve({
        port: bound,
        // server.close()'s callback waits for every open connection; those are gRPC's and the protocols' to end.
        close: async () => {
          if (server.listening) server.close();
        },
      });
    });
  });
}

function sniff(socket: Socket, protocols: readonly SniffedProtocol[], toGrpc: (socket: Socket) => void): void {
  let seen: Buffer = Buffer.alloc(0);
  const timer = setTimeout(() => socket.destroy(), SNIFF_TIMEOUT_MS);
  timer.unref();
  const onError = (): void => {
    clearTimeout(timer);
    socket.destroy();
  };
  const onData = (bytes: Buffer): void => {
    seen = seen.length === 0 ? bytes : Buffer.concat([seen, bytes]);
    let undecided = false;
    for (const protocol of protocols) {
      const n = Math.min(seen.length, protocol.preface.length);
      if (seen.compare(protocol.preface, 0, n, 0, n) !== 0) continue;
      if (seen.length < protocol.preface.length) {
        undecided = true;
        continue;
      }
      done();
      protocol.accept(socket, seen.subarray(protocol.preface.length));
      return;
    }
    if (undecided) return;
    done();
    socket.pause();
    socket.unshift(seen);
    toGrpc(socket);
  };
  const done = (): void => {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('error', onError);
  };
  socket.on('error', onError);
  socket.on('data', onData);
}
