import { credentials, type Client } from '@grpc/grpc-js';
import { fromGrpcError, fromWireStatus, isRoomqError, messagingServiceClient, type IncomingStatus } from '@roomq/protocol';

/** Deadline of one GetOffset; a broker that cannot answer in this time counts as unreadable for that poll. */
const GET_OFFSET_TIMEOUT_MS = 1000;

type GetOffset = (
  request: { group: { name: string }; message_queue: { topic: { name: string }; id: number } },
  options: { deadline: number },
  callback: (err: Error | null, reply: { status: IncomingStatus; offset?: number | string }) => void,
) => void;

/** How the offset watch reads one queue's committed offset; undefined when the group has none there. */
export interface OffsetReader {
  read(endpoint: string, group: string, topic: string, queueId: number): Promise<number | undefined>;
  close(): void;
}

/**
 * Reads committed offsets with the plain v2 GetOffset call, as any RocketMQ 5 client would, straight from a
 * broker instance (the SDK would pick the instance itself; the drill needs to name it). One client per broker.
 */
export class GrpcOffsetReader implements OffsetReader {
  private readonly clients = new Map<string, Client & { GetOffset: GetOffset }>();

  read(endpoint: string, group: string, topic: string, queueId: number): Promise<number | undefined> {
    const client = this.client(endpoint);
    return new Promise((resolve, reject) => {
      client.GetOffset(
        { group: { name: group }, message_queue: { topic: { name: topic }, id: queueId } },
        { deadline: Date.now() + GET_OFFSET_TIMEOUT_MS },
        (err, reply) => {
          if (err) return reject(fromGrpcError(err, { endpoint, topic, queueId, group }));
          const status = fromWireStatus(reply.status, { endpoint, topic, queueId, group });
          if (isRoomqError(status, 'OFFSET_NOT_FOUND')) return resolve(undefined);
          if (status) return reject(status);
          resolve(Number(reply.offset ?? 0));
        },
      );
    });
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  private client(endpoint: string): Client & { GetOffset: GetOffset } {
    let client = this.clients.get(endpoint);
    if (!client) {
      const Ctor = messagingServiceClient();
      client = new Ctor(endpoint, credentials.createInsecure()) as unknown as Client & { GetOffset: GetOffset };
      this.clients.set(endpoint, client);
    }
    return client;
  }
}
