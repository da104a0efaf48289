import { connect } from 'node:net';

/** True when something accepts a TCP connection at `host:port` within `timeoutMs`. */
export function tcpReachable(endpoint: string, timeoutMs: number): Promise<boolean> {
  const [host, port] = splitEndpoint(endpoint);
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export function splitEndpoint(endpoint: string): [string, number] {
  const colon = endpoint.lastIndexOf(':');
  return [endpoint.slice(0, colon), Number(endpoint.slice(colon + 1))];
}
