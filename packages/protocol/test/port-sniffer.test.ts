import { connect, type Socket } from 'node:net';
import { Server, credentials, type Client, type ClientDuplexStream } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { dataServiceClient, dataServiceDefinition, listenSniffing, type SniffingListener } from '../src/index.js';

const opened: Array<() => void> = [];
afterEach(() => {
  for (const close of opened.splice(0)) close();
});

/** A gRPC server whose Publish acks every frame, and an echo protocol behind the preface "ECHO". */
async function mixedPort(): Promise<{ listener: SniffingListener; echoed: Buffer[] }> {
  const server = new Server();
  server.addService(dataServiceDefinition(), {
    Publish: (call: any) => {
      call.on('data', (frame: any) => call.write({ batch_id: frame.batch_id, status: { code: 0, message: '' } }));
      call.on('end', () => call.end());
    },
    Subscribe: (call: any) => call.end(),
  });
  const echoed: Buffer[] = [];
  const listener = await listenSniffing('127.0.0.1', 0, server, [
    {
      preface: Buffer.from('ECHO'),
      accept: (socket: Socket, rest: Buffer) => {
        if (rest.length > 0) {
          echoed.push(rest);
          socket.write(rest);
        }
        socket.on('data', (bytes: Buffer) => {
          echoed.push(bytes);
          socket.write(bytes);
        });
      },
    },
  ]);
  opened.push(() => {
    void listener.close();
    server.forceShutdown();
  });
  return { listener, echoed };
}

describe('listenSniffing', { timeout: 10_000 }, () => {
  it('serves gRPC and a prefaced protocol on one port, also when the preface arrives in pieces', async () => {
    const { listener, echoed } = await mixedPort();
    const Ctor = dataServiceClient();
    const client = new Ctor(`127.0.0.1:${listener.port}`, credentials.createInsecure()) as unknown as Client & { Publish(): ClientDuplexStream<any, any> };
    opened.push(() => client.close());
    const call = client.Publish();
    const acks: number[] = [];
    const done = new Promise<void>((resolve) => call.on('data', (ack: any) => acks.push(Number(ack.batch_id)) === 3 && resolve()));
    for (const id of [1, 2, 3]) call.write({ batch_id: id, messages: Buffer.alloc(10) });
    await done;
    call.end();
    expect(acks).toEqual([1, 2, 3]);

    const socket = connect(listener.port, '127.0.0.1');
    opened.push(() => socket.destroy());
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('EC');
    await new Promise((r) => setTimeout(r, 20));
    const reply = new Promise<Buffer>((resolve) => socket.once('data', resolve));
    socket.write('HOhello');
    expect((await reply).toString()).toBe('hello');
    expect(Buffer.concat(echoed).toString()).toBe('hello');
  });

  it('names the address when the port is taken', async () => {
    const { listener } = await mixedPort();
    await expect(listenSniffing('127.0.0.1', listener.port, new Server(), [])).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});
