import { connect } from 'node:net';
import { DATA_PREFACE, dataFrameDecoder, decodeBrokerDataFrame, encodeSubscribeOpen, parseHostPort, type RecordsFrameMsg, type SubscribeRequestMsg } from '@roomq/protocol';

/**
 * A Subscribe on a broker's data path (data-frames.ts in @roomq/protocol), with nothing between the socket and
 * `onFrame`: what replication-lag scenarios observe a replica with, so the observer's own cost stays out of the
 * lag it reports. Returns the function that closes it.
 */
export function rawSubscribe(endpoint: string, request: SubscribeRequestMsg, onFrame: (frame: RecordsFrameMsg) => void): () => void {
  const address = parseHostPort(endpoint);
  if (!address) throw new Error(`not a host:port: ${endpoint}`);
  const socket = connect({ host: address.host, port: address.port });
  socket.setNoDelay(true);
  socket.write(Buffer.concat([DATA_PREFACE, encodeSubscribeOpen(request)]));
  const decoder = dataFrameDecoder();
  socket.on('data', (bytes: Buffer) => {
    try {
      decoder.push(bytes, (kind, payload) => {
        const frame = decodeBrokerDataFrame(kind, payload, decoder);
        if ('records' in frame) onFrame(frame.records);
      });
    } catch {
      socket.destroy();
    }
  });
  socket.on('error', () => undefined);
  return () => socket.destroy();
}
