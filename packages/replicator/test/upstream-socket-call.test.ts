import { createServer, connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { REPLICATION_PREFACE, decodeUpstreamPayload, encodeReplicaFrame, replicationFrameDecoder } from '../src/replication-frames.js';
import { helloToWire, progressToWire, type WireUpstreamMessage } from '../src/replication-wire.js';
import { UpstreamServer } from '../src/upstream-server.js';
import { MemoryLog } from './memory-log.js';

describe('UpstreamSocketCall', () => {
  it('hands the bytes read with the preface to the session before any read buffered behind them', async () => {
    const log = new MemoryLog();
    log.appendMessages(3);
    const upstream = new UpstreamServer({ log, group: 'broker-a', member: 'broker-a/0@dc1', room: 'dc1' });
    // The server side reads nothing until the replica's three writes sit in its buffer as separate reads: then
    // the preface (with the hello after it) and the report behind it are emitted in one synchronous loop, as
    // on a loaded machine whose event loop fell behind the socket.
    const accepted = new Promise<Socket>((resolve) => {
      const server = createServer((socket) => {
        socket.pause();
        server.close();
        resolve(socket);
      });
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        void replicaSide(port);
      });
    });
    let replica: Socket | undefined;
    const replicaSide = async (port: number): Promise<void> => {
      replica = connect({ port, host: '127.0.0.1' });
      replica.setNoDelay(true);
      await once(replica, 'connect');
      const hello = helloToWire({ group: 'broker-a', member: 'broker-a/1@dc2', logEndOffset: 0, lastRecordOffset: -1, lastRecordCrc: 0, segmentSizeBytes: log.segmentSizeBytes(), lastEpoch: 1 });
      replica.write(Buffer.concat([REPLICATION_PREFACE, encodeReplicaFrame(hello)]));
      await new Promise((r) => setTimeout(r, 30));
      const report = progressToWire([{ member: 'broker-a/1@dc2', room: 'dc2', durableOffset: 0, logEndOffset: 0, reportedAtMs: Date.now() }]);
      replica.write(encodeReplicaFrame(report));
      await new Promise((r) => setTimeout(r, 30));
      replica.write(encodeReplicaFrame(report));
    };
    const socket = await accepted;
    while (socket.readableLength < 3) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100));
    // What the port sniffer does: the first read decides the protocol, the rest of it goes with the socket.
    socket.on('data', function first(bytes: Buffer) {
      socket.off('data', first);
      upstream.acceptSocket(socket, bytes.subarray(REPLICATION_PREFACE.length));
    });
    socket.resume();

    const decoder = replicationFrameDecoder();
    const received: WireUpstreamMessage[] = [];
    replica!.on('data', (bytes: Buffer) => decoder.push(bytes, (kind, payload) => received.push(decodeUpstreamPayload(kind, payload, decoder))));
    const deadline = Date.now() + 5000;
    while (!received.some((m) => m.kind === 'chunk' || m.kind === 'refusal') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const first = received.find((m) => m.kind === 'chunk' || m.kind === 'refusal');
    expect(first?.refusal?.message).toBeUndefined();
    expect(first?.kind).toBe('chunk');
    expect(upstream.downstreamProgress().map((p) => p.member)).toEqual(['broker-a/1@dc2']);
    replica!.destroy();
    await upstream.close();
  });
});
