import { credentials, type Client, type ClientDuplexStream, type ClientReadableStream } from '@grpc/grpc-js';
import { dataServiceClient, messagingServiceClient, type PublishAckMsg, type PublishFrameMsg } from '@roomq/protocol';

/** Plain gRPC clients for tests that speak the wire protocols directly, bypassing the SDK's checks. */

type UnaryFn = (req: unknown, cb: (err: Error | null, res: Record<string, any>) => void) => void;

export class RawMessaging {
  private readonly client: Client & Record<string, UnaryFn>;
  constructor(readonly endpoint: string) {
    const Ctor = messagingServiceClient();
    this.client = new Ctor(endpoint, credentials.createInsecure(), { 'grpc.max_send_message_length': 64 << 20, 'grpc.max_receive_message_length': 64 << 20 }) as never;
  }
  call(rpc: string, request: unknown): Promise<Record<string, any>> {
    return new Promise((resolve, reject) => {
      this.client[rpc]!.call(this.client, request, (err, res) => (err ? reject(err) : resolve(res)));
    });
  }
  stream(rpc: string, request: unknown): Promise<Array<Record<string, any>>> {
    return new Promise((resolve, reject) => {
      const call = (this.client[rpc] as unknown as (req: unknown) => ClientReadableStream<Record<string, any>>).call(this.client, request);
      const out: Array<Record<string, any>> = [];
      call.on('data', (d) => out.push(d));
      call.on('end', () => resolve(out));
      call.on('error', reject);
    });
  }
  close(): void {
    this.client.close();
  }
}

export class RawData {
  private readonly client: Client & Record<string, any>;
  constructor(readonly endpoint: string) {
    const Ctor = dataServiceClient();
    this.client = new Ctor(endpoint, credentials.createInsecure(), { 'grpc.max_send_message_length': 64 << 20, 'grpc.max_receive_message_length': 64 << 20 }) as never;
  }
  /** Sends one publish frame on a fresh stream and returns its ack. */
  publishOnce(messages: Buffer, batchId = 1): Promise<PublishAckMsg> {
    return new Promise((resolve, reject) => {
      const call = this.client['Publish']() as ClientDuplexStream<PublishFrameMsg, PublishAckMsg>;
      call.on('data', (ack) => {
        resolve(ack);
        call.end();
      });
      call.on('error', reject);
      call.write({ batch_id: batchId, messages });
    });
  }
  close(): void {
    this.client.close();
  }
}

export function v2Message(topic: string, body: Buffer, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    topic: { name: topic },
    body,
    system_properties: { message_id: `01${Math.random().toString(16).slice(2).padEnd(32, '0').toUpperCase()}`, keys: [], born_timestamp: { seconds: Math.floor(Date.now() / 1000), nanos: 0 }, queue_id: 0, ...extra },
  };
}

/** Subscribes to a queue with the fast path and collects frames until `stop` says so or the stream ends. */
export function rawSubscribe(
  endpoint: string,
  request: { group: string; topic: string; queue_id: number; offset: number },
  stop: (frames: Array<Record<string, any>>) => boolean,
  timeoutMs = 10_000,
): Promise<Array<Record<string, any>>> {
  const Ctor = dataServiceClient();
  const client = new Ctor(endpoint, credentials.createInsecure(), { 'grpc.max_receive_message_length': 64 << 20 }) as unknown as Client & Record<string, any>;
  return new Promise((resolve, reject) => {
    const frames: Array<Record<string, any>> = [];
    const call = client['Subscribe'](request) as ClientReadableStream<Record<string, any>>;
    const finish = (): void => {
      clearTimeout(timer);
      call.cancel();
      client.close();
      resolve(frames);
    };
    const timer = setTimeout(() => {
      call.cancel();
      client.close();
      reject(new Error(`subscribe to ${request.topic}/${request.queue_id} timed out after ${frames.length} frames`));
    }, timeoutMs);
    call.on('data', (frame) => {
      frames.push(frame);
      if (stop(frames)) finish();
    });
    call.on('end', finish);
    call.on('error', (err: { code?: number }) => (err.code === 1 ? undefined : finish()));
  });
}

/** A group's committed offset on each of `queues` queues of a topic at one broker; -1 where it has none. */
export async function committedOffsets(endpoint: string, group: string, topic: string, queues: number): Promise<number[]> {
  const v2 = new RawMessaging(endpoint);
  const out: number[] = [];
  try {
    for (let q = 0; q < queues; q++) {
      const res = await v2.call('GetOffset', { group: { name: group }, message_queue: { topic: { name: topic }, id: q } });
      out.push(res.status.code === 'OK' ? Number(res.offset) : -1);
    }
  } finally {
    v2.close();
  }
  return out;
}
