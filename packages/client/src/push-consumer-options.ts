import type { RoomqError } from '@roomq/protocol';
import { z } from 'zod';
import { endpointSchema, loggerSchema } from './options-schema.js';
import { backoffSchema, DEFAULT_CLOSE_TIMEOUT_MS, DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_REQUEST_TIMEOUT_MS } from './producer-options.js';
import type { ReceivedMessage } from './received-message.js';

/** Messages buffered per queue before its stream is paused; it resumes below half. */
export const DEFAULT_MAX_BUFFERED_MESSAGES = 1024;
/** Consumed offsets are committed this often, and on close. */
export const DEFAULT_COMMIT_INTERVAL_MS = 1000;
/** Where a group with no committed offset starts: the oldest stored message. */
export const DEFAULT_START_FROM = 'first';

/**
 * A queue this consumer gains waits this long before it is read, so its previous owner (which learns of the
 * change about as fast) can finish its handler in progress and commit. Skipped when the router counts no
 * other live consumer in the group.
 */
export const DEFAULT_REBALANCE_GRACE_MS = 1_000;
/** The assignment is fetched again this often: a fallback, since routers push change hints over Watch. */
export const DEFAULT_ASSIGNMENT_REFRESH_MS = 5_000;

export type MessageHandler = (message: ReceivedMessage) => Promise<void> | void;

export const pushConsumerOptionsSchema = z.object({
  /**
   * Routers, `host:port`, in order of preference (your own room's first). Calls go to the first that answers;
   * an unreachable router is skipped for the next one.
   */
  routers: z.array(endpointSchema).min(1, 'name at least one router, e.g. ["127.0.0.1:9876"]'),
  group: z.string(),
  topic: z.string(),
  /** Called once per message, in queue order per queue; the message is consumed when it resolves. */
  handler: z.custom<MessageHandler>((value) => typeof value === 'function', 'expected a function (message) => Promise<void> | void'),
  /** For a group with no committed offset: 'first' reads the whole queue, 'last' only new messages. */
  startFrom: z.enum(['first', 'last']).default(DEFAULT_START_FROM),
  maxBufferedMessages: z.number().int().min(2).default(DEFAULT_MAX_BUFFERED_MESSAGES),
  commitIntervalMs: z.number().int().positive().default(DEFAULT_COMMIT_INTERVAL_MS),
  /** Per subscription frame; 0 leaves it to the broker. */
  maxBatchMessages: z.number().int().nonnegative().default(0),
  maxBatchBytes: z.number().int().nonnegative().default(0),
  /** See DEFAULT_REBALANCE_GRACE_MS; 0 starts gained queues at once. */
  rebalanceGraceMs: z.number().int().nonnegative().default(DEFAULT_REBALANCE_GRACE_MS),
  assignmentRefreshMs: z.number().int().positive().default(DEFAULT_ASSIGNMENT_REFRESH_MS),
  /** ClientHeartbeat interval; the router takes the queues of a consumer that missed about three beats. */
  heartbeatIntervalMs: z.number().int().positive().default(DEFAULT_HEARTBEAT_INTERVAL_MS),
  requestTimeoutMs: z.number().int().positive().default(DEFAULT_REQUEST_TIMEOUT_MS),
  /** close() waits this long for handlers in progress before committing and closing. */
  closeTimeoutMs: z.number().int().nonnegative().default(DEFAULT_CLOSE_TIMEOUT_MS),
  /** Backoff of reconnects and of handler redeliveries. */
  retryBackoff: backoffSchema,
  clientId: z.string().min(1).optional(),
  /** The room this client runs in; defaults to ROOMQ_ROOM, else "default". Routers give it this room's queues first. */
  room: z.string().optional(),
  logger: loggerSchema.optional(),
  /** Problems worth a user's attention: corrupt records, handler failures, brokers that cannot be reached. Logged when absent. */
  onError: z.custom<(error: RoomqError) => void>((value) => typeof value === 'function', 'expected a function (error) => void').optional(),
});

export type PushConsumerOptions = z.input<typeof pushConsumerOptionsSchema>;
export type ResolvedPushConsumerOptions = z.output<typeof pushConsumerOptionsSchema>;
