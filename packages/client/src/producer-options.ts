import { DEFAULT_BACKOFF, DEFAULT_MAX_BODY_BYTES } from '@roomq/protocol';
import { z } from 'zod';
import { endpointSchema, loggerSchema } from './options-schema.js';

/** Messages sent but not yet acknowledged, across all brokers; when reached, send() waits. */
export const DEFAULT_MAX_IN_FLIGHT_MESSAGES = 1000;
/** Most messages in one publish frame. */
export const DEFAULT_BATCH_MAX_MESSAGES = 256;
/** Most bytes in one publish frame: 1 MiB (a larger single message still goes, alone). */
export const DEFAULT_BATCH_MAX_BYTES = 1024 * 1024;
/** How long one attempt waits for the broker's acknowledgement. */
export const DEFAULT_SEND_TIMEOUT_MS = 10_000;
/** Attempts per message, the first included; retriable failures move to another broker. */
export const DEFAULT_MAX_ATTEMPTS = 3;
/**
 * Routes of used topics are fetched again this often: a fallback only, since routers push change hints over
 * a Watch stream (applied within a second) and routes are also fetched again at once after an error.
 */
export const DEFAULT_ROUTE_REFRESH_MS = 30_000;
/** ClientHeartbeat interval; a router counts a consumer gone after about three missed beats. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 1_000;
/** Deadline of one router call. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 3_000;
/** close() waits this long for in-flight sends before failing them with CLOSED. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;
/** Frames in flight per broker stream; with 256-message frames this keeps about 1000 messages moving. */
export const DEFAULT_MAX_FRAMES_IN_FLIGHT = 4;
/** A broker that failed a send is avoided by new messages for this long when another broker is writable. */
export const DEFAULT_BROKER_ISOLATION_MS = 5_000;

const backoffSchema = z
  .object({
    initialDelayMs: z.number().int().nonnegative().default(DEFAULT_BACKOFF.initialDelayMs),
    maxDelayMs: z.number().int().nonnegative().default(DEFAULT_BACKOFF.maxDelayMs),
    multiplier: z.number().min(1).default(DEFAULT_BACKOFF.multiplier),
    jitter: z.number().min(0).max(1).default(DEFAULT_BACKOFF.jitter),
  })
  .default(DEFAULT_BACKOFF);

export { backoffSchema };

export const producerOptionsSchema = z.object({
  /**
   * Routers, `host:port`, in order of preference (your own room's first). Calls go to the first that answers;
   * an unreachable router is skipped for the next one.
   */
  routers: z.array(endpointSchema).min(1, 'name at least one router, e.g. ["127.0.0.1:9876"]'),
  /** Defaults to `<room>@<hostname>@<pid>@<n>`. */
  clientId: z.string().min(1).optional(),
  /** The room this client runs in; defaults to ROOMQ_ROOM, else "default". Routers send it to queues of this room (or the topic's home room). */
  room: z.string().optional(),
  /**
   * The producer's group: the application it belongs to. While a topic migrates between modes, routers move
   * producer groups to the new mode one at a time; a producer without a group moves only when all do.
   */
  producerGroup: z.string().min(1).max(255).optional(),
  /** Topics whose routes start() loads, so the first send does not wait for a router. */
  topics: z.array(z.string()).default([]),
  maxInFlightMessages: z.number().int().positive().default(DEFAULT_MAX_IN_FLIGHT_MESSAGES),
  batchMaxMessages: z.number().int().positive().default(DEFAULT_BATCH_MAX_MESSAGES),
  batchMaxBytes: z.number().int().positive().default(DEFAULT_BATCH_MAX_BYTES),
  maxFramesInFlight: z.number().int().positive().default(DEFAULT_MAX_FRAMES_IN_FLIGHT),
  sendTimeoutMs: z.number().int().positive().default(DEFAULT_SEND_TIMEOUT_MS),
  maxAttempts: z.number().int().min(1).default(DEFAULT_MAX_ATTEMPTS),
  routeRefreshMs: z.number().int().positive().default(DEFAULT_ROUTE_REFRESH_MS),
  heartbeatIntervalMs: z.number().int().positive().default(DEFAULT_HEARTBEAT_INTERVAL_MS),
  requestTimeoutMs: z.number().int().positive().default(DEFAULT_REQUEST_TIMEOUT_MS),
  closeTimeoutMs: z.number().int().nonnegative().default(DEFAULT_CLOSE_TIMEOUT_MS),
  brokerIsolationMs: z.number().int().nonnegative().default(DEFAULT_BROKER_ISOLATION_MS),
  /** Largest body send() accepts; keep it at or below the brokers' maxBodyBytes. */
  maxBodyBytes: z.number().int().positive().default(DEFAULT_MAX_BODY_BYTES),
  /** Backoff between attempts of a message. */
  retryBackoff: backoffSchema,
  logger: loggerSchema.optional(),
});

/** What `new Producer(options)` accepts; every field but `routers` has a default. */
export type ProducerOptions = z.input<typeof producerOptionsSchema>;
export type ResolvedProducerOptions = z.output<typeof producerOptionsSchema>;
