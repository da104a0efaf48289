import type { Metadata } from '@grpc/grpc-js';
import { fromGrpcError, fromWireStatus, isRoomqError, type RecordsFrameMsg, type RoomqError, type SubscribeRequestMsg, type WireStatus } from '@roomq/protocol';
import { SubscribeSocketStream } from './data-socket.js';
import { unaryCall, type ServiceClients } from './grpc-clients.js';
import type { QueueRef } from './topic-route.js';

export interface SubscriptionHandlers {
  frame(frame: RecordsFrameMsg): void;
  /** The stream is over; `err` is undefined when the broker ended it cleanly. Called once. */
  ended(err: RoomqError | undefined): void;
}

export interface Subscription {
  pause(): void;
  resume(): void;
  cancel(): void;
}

/** What a queue consumer needs from a broker; the gRPC implementation is below, tests may bring their own. */
export interface QueueIo {
  /** The group's committed offset, or undefined when it has none (OFFSET_NOT_FOUND). */
  getOffset(queue: QueueRef, signal?: AbortSignal): Promise<number | undefined>;
  queryOffset(queue: QueueRef, policy: 'BEGINNING' | 'END', signal?: AbortSignal): Promise<number>;
  updateOffset(queue: QueueRef, offset: number, signal?: AbortSignal): Promise<void>;
  subscribe(queue: QueueRef, offset: number, handlers: SubscriptionHandlers): Subscription;
}

interface StatusReply {
  status?: WireStatus;
  offset?: number;
}

export interface GrpcQueueIoOptions {
  group: string;
  clients: ServiceClients;
  metadata: Metadata;
  requestTimeoutMs: number;
  maxBatchMessages: number;
  maxBatchBytes: number;
}

/** QueueIo over the broker's v2 MessagingService (offsets) and the Subscribe of its data path (records). */
export class GrpcQueueIo implements QueueIo {
  constructor(private readonly options: GrpcQueueIoOptions) {}

  async getOffset(queue: QueueRef, signal?: AbortSignal): Promise<number | undefined> {
    const reply = await this.call(queue, 'GetOffset', { group: { name: this.options.group }, message_queue: this.wireQueue(queue) }, signal);
    const err = fromWireStatus(reply.status, this.context(queue));
    if (isRoomqError(err, 'OFFSET_NOT_FOUND')) return undefined;
    if (err) throw err;
    return reply.offset ?? 0;
  }

  async queryOffset(queue: QueueRef, policy: 'BEGINNING' | 'END', signal?: AbortSignal): Promise<number> {
    const reply = await this.call(queue, 'QueryOffset', { message_queue: this.wireQueue(queue), query_offset_policy: policy }, signal);
    const err = fromWireStatus(reply.status, this.context(queue));
    if (err) throw err;
    return reply.offset ?? 0;
  }

  async updateOffset(queue: QueueRef, offset: number, signal?: AbortSignal): Promise<void> {
    const reply = await this.call(queue, 'UpdateOffset', { group: { name: this.options.group }, message_queue: this.wireQueue(queue), offset }, signal);
    const err = fromWireStatus(reply.status, { ...this.context(queue), offset });
    if (err) throw err;
  }

  subscribe(queue: QueueRef, offset: number, handlers: SubscriptionHandlers): Subscription {
    const request: SubscribeRequestMsg = {
      group: this.options.group,
      topic: queue.topic,
      queue_id: queue.queueId,
      offset,
      max_batch_messages: this.options.maxBatchMessages,
      max_batch_bytes: this.options.maxBatchBytes,
    };
    // The broker's data path over its own TCP connection (data-frames.ts in @roomq/protocol says why not gRPC).
    const call = new SubscribeSocketStream(queue.endpoint, request);
    let done = false;
    let cancelled = false;
    const finish = (err: RoomqError | undefined): void => {
      if (done) return;
      done = true;
      handlers.ended(err);
    };
    call.on('data', (frame: RecordsFrameMsg) => {
      if (!done) handlers.frame(frame);
    });
    call.on('error', (err: unknown) => finish(cancelled ? undefined : fromGrpcError(err, { ...this.context(queue), offset })));
    call.on('end', () => finish(undefined));
    return {
      pause: () => call.pause(),
      resume: () => call.resume(),
      cancel: () => {
        cancelled = true;
        call.cancel();
      },
    };
  }

  private call(queue: QueueRef, method: string, request: object, signal?: AbortSignal): Promise<StatusReply> {
    return unaryCall<StatusReply>(this.options.clients.client('messaging', queue.endpoint), method, request, {
      metadata: this.options.metadata,
      timeoutMs: this.options.requestTimeoutMs,
      signal,
      context: this.context(queue),
    });
  }

  private wireQueue(queue: QueueRef): object {
    return { topic: { name: queue.topic }, id: queue.queueId, broker: { name: queue.broker, id: queue.brokerId } };
  }

  private context(queue: QueueRef): { topic: string; queueId: number; broker: string; endpoint: string; group: string } {
    return { topic: queue.topic, queueId: queue.queueId, broker: queue.broker, endpoint: queue.endpoint, group: this.options.group };
  }
}
