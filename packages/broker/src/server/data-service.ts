import type { Logger } from 'pino';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import {
  FlushedBuffers,
  RoomqError,
  decodePublishRequest,
  encodePublishResults,
  okStatus,
  validateGroupName,
  validateTopicName,
  type PublishAckMsg,
  type PublishFrameMsg,
  type RecordsFrameMsg,
  type DataHandlers,
  type PublishCall,
  type SubscribeCall,
} from '@roomq/protocol';
import type { MessageStore, ReadResult } from '../store/index.js';
import { failureStatus } from './grpc-handlers.js';
import type { Ingest } from './ingest.js';
import type { TopicTable } from './topic-table.js';

export interface DataServiceDeps {
  store: MessageStore;
  ingest: Ingest;
  topics: TopicTable;
  logger: Logger;
  subscribeBatchMessages: number;
  subscribeBatchBytes: number;
  maxPendingFramesPerStream: number;
}

/** roomq's streaming fast path (proto/roomq/v1/data.proto): batched publish and offset-based subscribe. */
export function dataService(deps: DataServiceDeps): UntypedServiceImplementation {
  const handlers = dataHandlers(deps);
  return {
    Publish: (call: PublishCall) => handlers.publish(call),
    Subscribe: (call: SubscribeCall) => handlers.subscribe(call),
  };
}

/** The same service as the data path of the broker's port (dataProtocol in @roomq/protocol). */
export function dataHandlers(deps: DataServiceDeps): DataHandlers {
  return {
    publish: (call) => publish(deps, call),
    subscribe: (call) => {
      subscribe(deps, call).catch((err: unknown) => deps.logger.error({ err }, 'subscribe loop failed'));
    },
    malformed: (err, peer) => deps.logger.warn({ err, peer }, 'closed a data connection that sent malformed frames'),
  };
}

/**
 * Frames are appended as they arrive, so many are in flight and the store's group commit covers them
 * together. Reading pauses while too many wait for the disk or the client is not taking acks.
 */
function publish(deps: DataServiceDeps, call: PublishCall): void {
  let pending = 0;
  let ended = false;
  let ackBlocked = false;
  let closed = false;

  const maybeResume = (): void => {
    if (call.isPaused() && !ackBlocked && pending < deps.maxPendingFramesPerStream) call.resume();
  };
  const maybeEnd = (): void => {
    if (ended && pending === 0 && !closed) {
      closed = true;
      call.end();
    }
  };
  const sendAck = (ack: PublishAckMsg): void => {
    if (closed || call.cancelled) return;
    if (!call.write(ack)) {
      ackBlocked = true;
      call.pause();
      call.once('drain', () => {
        ackBlocked = false;
        maybeResume();
      });
    }
  };

  call.on('data', (frame: PublishFrameMsg) => {
    pending++;
    if (pending >= deps.maxPendingFramesPerStream) call.pause();
    const batchId = frame.batch_id ?? 0;
    let work: Promise<PublishAckMsg>;
    // The frame's memory is reused once its messages are in the log or refused (PublishCall.release).
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      call.release?.(frame);
    };
    try {
      const entries = decodePublishRequest(frame.messages ?? Buffer.alloc(0));
      work = deps.ingest.append(entries, release).then((results) => ({
        batch_id: batchId,
        status: okStatus(),
        results: encodePublishResults(results),
      }));
    } catch (err) {
      release();
      work = Promise.reject(err);
    }
    work
      .catch((err: unknown): PublishAckMsg => ({ batch_id: batchId, status: failureStatus(deps.logger, 'Publish', err) }))
      .then((ack) => {
        pending--;
        sendAck(ack);
        maybeResume();
        maybeEnd();
      });
  });
  call.on('end', () => {
    ended = true;
    maybeEnd();
  });
  call.on('error', () => {
    ended = true;
    closed = true;
  });
}

/** A subscriber this many messages behind reads into reused full-batch buffers (FlushedBuffers). */
const BACKLOG_MESSAGES = 128;

/**
 * Streams a queue from an offset, then waits for new records and streams those, until the client cancels.
 * Stops writing while the transport buffer is full (`write() === false` until 'drain').
 */
async function subscribe(deps: DataServiceDeps, call: SubscribeCall): Promise<void> {
  const abort = new AbortController();
  call.on('cancelled', () => abort.abort());
  call.on('error', () => abort.abort());
  const signal = abort.signal;
  const request = call.request;
  const maxMessages = Math.min(request.max_batch_messages || deps.subscribeBatchMessages, deps.subscribeBatchMessages);
  const maxBytes = Math.min(request.max_batch_bytes || deps.subscribeBatchBytes, deps.subscribeBatchBytes);
  try {
    validateGroupName(request.group ?? '');
    validateTopicName(request.topic ?? '');
    const { topic } = request;
    const queueId = request.queue_id ?? 0;
    await deps.topics.requireQueue(topic, queueId);
    let offset = request.offset ?? 0;
    const end = deps.store.queueEnd(topic, queueId);
    if (!Number.isInteger(offset) || offset < 0 || offset > end) {
      throw new RoomqError('INVALID_OFFSET', `offset ${offset} is outside queue ${topic}/${queueId}, which ends at ${end}`, {
        details: { topic, queueId, offset },
      });
    }
    const buffers = new FlushedBuffers(maxBytes, call.flushed?.bind(call));
    while (!signal.aborted) {
      const behind = deps.store.queueEnd(topic, queueId) - offset;
      if (behind <= 0) {
        buffers.idle();
        await deps.store.waitForData(topic, queueId, offset, signal);
        continue;
      }
      // Reused buffers only for a backlog: a caught-up stream reads a few records at a time, sized to fit.
      const into = behind >= BACKLOG_MESSAGES ? buffers.take() : undefined;
      let read: ReadResult;
      try {
        read = await deps.store.readQueue(topic, queueId, offset, maxMessages, maxBytes, into);
      } finally {
        buffers.handed(into);
      }
      if (signal.aborted) break;
      offset = read.nextOffset;
      const writable = call.write({ records: read.records, next_offset: read.nextOffset, max_offset: read.endOffset });
      if (!writable) await drained(call, signal);
    }
  } catch (err) {
    if (signal.aborted) return;
    call.write({ status: failureStatus(deps.logger, 'Subscribe', err) });
  }
  if (!call.cancelled) call.end();
}

function drained(call: SubscribeCall, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      call.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    call.once('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}
