import type { Logger } from 'pino';
import type { ServerUnaryCall, ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import {
  DEFAULT_MAX_BODY_BYTES,
  MessageIdGenerator,
  RecordType,
  RoomqError,
  V2_CODE,
  decodeRecord,
  encodeMessageSection,
  messagingServiceDefinition,
  okStatus,
  validateGroupName,
  validateTopicName,
  type PublishEntryView,
  type Reply,
  type WireStatus,
} from '@roomq/protocol';
import type { MessageStore } from '../store/index.js';
import { failureStatus, unary, withUnsupported } from './grpc-handlers.js';
import type { Ingest } from './ingest.js';
import { telemetryHandler } from './telemetry.js';
import type { TopicTable } from './topic-table.js';
import { fieldsFromV2, recordToV2, type V2Message, type V2Resource } from './v2-messages.js';

/** What users of the pop-style consumer calls (receive, ack, invisibility, assignments) can use instead. */
const POP_CONSUMPTION_HINT =
  'roomq has no receive/ack (pop) consumption; consume with the PushConsumer of @roomq/client, or with v2 PullMessage and UpdateOffset';
const UNSUPPORTED_HINTS: Readonly<Record<string, string>> = {
  QueryAssignment: POP_CONSUMPTION_HINT,
  ReceiveMessage: POP_CONSUMPTION_HINT,
  AckMessage: POP_CONSUMPTION_HINT,
  ChangeInvisibleDuration: POP_CONSUMPTION_HINT,
  ForwardMessageToDeadLetterQueue: POP_CONSUMPTION_HINT,
};

/** Most messages one v2 PullMessage call returns. */
const MAX_PULL_BATCH = 256;
/** Long-poll limit of one v2 PullMessage call when the client asks for more. */
const MAX_PULL_WAIT_MS = 30_000;

/** Every reply of the v2 service: a status plus the call's own fields. */
type Answer = Reply & Record<string, unknown>;

interface MessageQueueMsg {
  topic?: V2Resource | null;
  id?: number;
}

interface OffsetRequest {
  group?: V2Resource | null;
  message_queue?: MessageQueueMsg | null;
  offset?: number;
}

interface QueryOffsetRequest {
  message_queue?: MessageQueueMsg | null;
  query_offset_policy?: string;
}

interface PullRequest {
  group?: V2Resource | null;
  message_queue?: MessageQueueMsg | null;
  offset?: number;
  batch_size?: number;
  long_polling_timeout?: { seconds?: number; nanos?: number } | null;
}

export interface MessagingServiceDeps {
  store: MessageStore;
  ingest: Ingest;
  topics: TopicTable;
  logger: Logger;
  /** host:port this broker advertises; reported as store_host. */
  endpoint: string;
  /** Waits until the group's replication mode holds the log up to an offset (sync:N). */
  replicated?: (endOffset: number) => Promise<void>;
  /** Why an offset commit must be refused now (a fenced leader), if it must. */
  commitRefusal?: () => RoomqError | undefined;
  /** The broker's `maxBodyBytes`, told to producers in Telemetry settings; the protocol default if absent. */
  maxBodyBytes?: number;
  /** Aborted when the broker shuts down; ends the open Telemetry streams instead of waiting out the grace period. */
  closing?: AbortSignal;
}

/** The broker's `apache.rocketmq.v2.MessagingService`: the calls other RocketMQ 5 clients use. */
export function messagingService(deps: MessagingServiceDeps): UntypedServiceImplementation {
  const { store, ingest, topics, logger } = deps;
  const ids = new MessageIdGenerator();

  async function queueOf(mq: MessageQueueMsg | null | undefined): Promise<{ topic: string; queueId: number }> {
    const topic = mq?.topic?.name;
    if (!topic) throw new RoomqError('BAD_REQUEST', 'message_queue.topic.name is required');
    validateTopicName(topic);
    const queueId = mq?.id ?? 0;
    await topics.requireQueue(topic, queueId);
    return { topic, queueId };
  }

  /** A consumer can only be at or before the queue end; anything else is refused, never clamped. */
  function requireOffsetInQueue(topic: string, queueId: number, offset: number): number {
    const end = store.queueEnd(topic, queueId);
    if (!Number.isInteger(offset) || offset < 0 || offset > end) {
      throw new RoomqError('INVALID_OFFSET', `offset ${offset} is outside queue ${topic}/${queueId}, which ends at ${end}`, {
        details: { topic, queueId, offset },
      });
    }
    return offset;
  }

  function groupOf(group: V2Resource | null | undefined): string {
    const name = group?.name;
    if (!name) throw new RoomqError('BAD_REQUEST', 'group.name is required');
    validateGroupName(name);
    return name;
  }

  const implemented: UntypedServiceImplementation = {
    SendMessage: unary(logger, 'SendMessage', async ({ request }: ServerUnaryCall<{ messages?: V2Message[] }, Answer>): Promise<Answer> => {
      const messages = request.messages ?? [];
      if (messages.length === 0) throw new RoomqError('BAD_REQUEST', 'SendMessage carries no messages');
      const now = Date.now();
      const entries: PublishEntryView[] = messages.map((message) => {
        const { fields, queueId } = fieldsFromV2(message, () => ids.next(), now);
        return { queueId, section: encodeMessageSection(fields) };
      });
      const results = await ingest.append(entries);
      return {
        status: okStatus(),
        entries: results.map((r) => ({ status: okStatus(), message_id: r.messageId, transaction_id: '', offset: r.queueOffset })),
      };
    }),

    UpdateOffset: unary(logger, 'UpdateOffset', async ({ request }: ServerUnaryCall<OffsetRequest, Answer>): Promise<Answer> => {
      const group = groupOf(request.group);
      const { topic, queueId } = await queueOf(request.message_queue);
      const offset = requireOffsetInQueue(topic, queueId, request.offset ?? 0);
      const refused = deps.commitRefusal?.();
      if (refused) throw refused;
      // On a replica the store keeps it in its durable offset overlay and forwards it to the master.
      await store.commitOffset(group, topic, queueId, offset);
      // In sync:N an acknowledged commit is on the replicas too, so a failover cannot roll it back.
      await deps.replicated?.(store.logEndOffset());
      return { status: okStatus() };
    }),

    GetOffset: unary(logger, 'GetOffset', async ({ request }: ServerUnaryCall<OffsetRequest, Answer>): Promise<Answer> => {
      const group = groupOf(request.group);
      const { topic, queueId } = await queueOf(request.message_queue);
      const offset = store.committedOffset(group, topic, queueId);
      if (offset === undefined) {
        throw new RoomqError('OFFSET_NOT_FOUND', `group ${group} has no committed offset on ${topic}/${queueId}`, { details: { topic, queueId, group } });
      }
      return { status: okStatus(), offset };
    }),

    QueryOffset: unary(logger, 'QueryOffset', async ({ request }: ServerUnaryCall<QueryOffsetRequest, Answer>): Promise<Answer> => {
      const { topic, queueId } = await queueOf(request.message_queue);
      const policy = request.query_offset_policy ?? 'BEGINNING';
      if (policy === 'BEGINNING') return { status: okStatus(), offset: 0 };
      if (policy === 'END') return { status: okStatus(), offset: store.queueEnd(topic, queueId) };
      throw new RoomqError('NOT_IMPLEMENTED', `QueryOffset policy ${policy} is not supported yet; use BEGINNING or END`);
    }),

    Heartbeat: unary(logger, 'Heartbeat', async (): Promise<Answer> => ({ status: okStatus() })),
    Telemetry: telemetryHandler({ logger, maxBodyBytes: deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES, closing: deps.closing }),
    NotifyClientTermination: unary(logger, 'NotifyClientTermination', async (): Promise<Answer> => ({ status: okStatus() })),

    PullMessage: (call: ServerWritableStream<PullRequest, unknown>) => {
      const abort = new AbortController();
      call.on('cancelled', () => abort.abort());
      pull(call.request, abort.signal).then(
        (responses) => {
          for (const response of responses) call.write(response);
          call.end();
        },
        (err: unknown) => {
          if (!abort.signal.aborted) call.write({ status: failureStatus(logger, 'PullMessage', err) });
          call.end();
        },
      );
    },
  };

  async function pull(request: PullRequest, signal: AbortSignal): Promise<Array<{ status?: WireStatus; message?: V2Message; next_offset?: number }>> {
    const group = groupOf(request.group);
    const { topic, queueId } = await queueOf(request.message_queue);
    const offset = requireOffsetInQueue(topic, queueId, request.offset ?? 0);
    const end = store.queueEnd(topic, queueId);
    const batch = Math.min(Math.max(request.batch_size ?? 32, 1), MAX_PULL_BATCH);
    const waitMs = Math.min(
      (request.long_polling_timeout?.seconds ?? 0) * 1000 + Math.floor((request.long_polling_timeout?.nanos ?? 0) / 1e6),
      MAX_PULL_WAIT_MS,
    );
    if (offset === end && waitMs > 0) {
      const timeout = AbortSignal.timeout(waitMs);
      try {
        await store.waitForData(topic, queueId, offset, AbortSignal.any([signal, timeout]));
      } catch (err) {
        if (!timeout.aborted) throw err;
      }
    }
    const read = await store.readQueue(topic, queueId, offset, batch, 4 * 1024 * 1024);
    if (read.count === 0) {
      return [{ status: { code: V2_CODE.MESSAGE_NOT_FOUND, message: 'no new message' } }, { next_offset: offset }];
    }
    const out: Array<{ status?: WireStatus; message?: V2Message; next_offset?: number }> = [{ status: okStatus() }];
    let at = 0;
    while (at < read.records.length) {
      const record = decodeRecord(read.records, at);
      if (record.type === RecordType.MESSAGE) out.push({ message: recordToV2(record, deps.endpoint) });
      at += record.totalLength;
    }
    out.push({ next_offset: read.nextOffset });
    return out;
  }

  return withUnsupported(logger, implemented, messagingServiceDefinition() as never, UNSUPPORTED_HINTS);
}
