import { z } from 'zod';
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_PROPERTIES_BYTES, parseConfig } from '@roomq/protocol';
import { MessageStoreOptionsSchema } from '../store/options.js';

/** Default wait of a sync:N write for its replicas before the producer gets REPLICATION_TIMEOUT. */
export const DEFAULT_REPLICATION_TIMEOUT_MS = 3000;
/** Default write lease: a few heartbeats, so one lost reply never fences a healthy broker. */
export const DEFAULT_WRITE_LEASE_MS = 4000;
/** Default interval of heartbeats to routers; a router may ask for another in its reply. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 1000;
/** Default most messages in one frame the broker streams to a subscriber. */
export const DEFAULT_SUBSCRIBE_BATCH_MESSAGES = 512;
/**
 * Default most bytes of records in one frame the broker streams to a subscriber. 256 KiB: a backlog of 1 KiB
 * messages over 4 queues was consumed at 317-366k msg/s with it, 141-304k with 128 KiB, 145-270k with 1 MiB
 * (the former default: each frame a fresh MiB to allocate on both sides, and less overlap between the
 * broker reading the next frame and the consumer decoding this one).
 */
export const DEFAULT_SUBSCRIBE_BATCH_BYTES = 256 * 1024;
/** Publish frames one stream may have waiting for the disk before the broker stops reading it. */
export const DEFAULT_MAX_PENDING_FRAMES_PER_STREAM = 64;

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port');
const name = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected 1-64 characters from A-Z a-z 0-9 _ . -');

/** The broker process config (`roomq broker --config FILE`). */
export const BrokerConfigSchema = z
  .object({
    /** Broker group, e.g. broker-a. The instance name is `<group>/<memberId>@<room>`. */
    group: name,
    memberId: z.number().int().min(0).max(255).default(0),
    room: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'expected a room tag such as dc1'),
    role: z.enum(['master', 'slave']).default('master'),
    /** Slaves: host:port of the member before this one in the group's chain (the master or another slave). */
    upstream: hostPort.optional(),
    /** How the master acknowledges producers: `async`, or `sync:N` = once the first N replicas hold it durably. */
    replicationMode: z.string().regex(/^(async|sync:[1-9]\d*)$/, 'expected async or sync:N, e.g. sync:1').default('async'),
    /** Masters: the members after the master in chain order (e.g. broker-a/1@dc1, broker-a/2@dc2); sync:N waits for the first N. */
    chain: z.array(z.string().min(1)).default([]),
    /** sync:N: how long a producer's write waits for the replicas before it fails with REPLICATION_TIMEOUT. */
    replicationTimeoutMs: z.number().int().min(10).default(DEFAULT_REPLICATION_TIMEOUT_MS),
    /** Where the gRPC server listens; port 0 picks a free port. */
    listen: hostPort.default('127.0.0.1:10911'),
    /** Host clients should dial, when it differs from the listen host (e.g. 0.0.0.0 listeners). */
    advertisedHost: z.string().min(1).optional(),
    /** Routers to register with; every one of them gets heartbeats. */
    routers: z.array(hostPort).min(1, 'at least one router address is needed'),
    dataDir: z.string().min(1),
    flushMode: z.enum(['sync', 'async']).default('sync'),
    flushIntervalMs: z.number().int().min(1).default(200),
    segmentSizeBytes: z.number().int().min(64 * 1024).default(1024 ** 3),
    /** `sync` flush: zero-filled space kept ahead of the commit log's writer (the store's option); 0 turns it off. */
    preallocateBytes: MessageStoreOptionsSchema.shape.preallocateBytes,
    /** While a replica, write the commit log around the page cache (O_DIRECT; the store's option). */
    replicaDirectWrites: MessageStoreOptionsSchema.shape.replicaDirectWrites,
    /** Memory for the newest log bytes, read by consumers and replicas at the tail without a file read (the store's option); 0 turns it off. */
    tailCacheBytes: MessageStoreOptionsSchema.shape.tailCacheBytes,
    /** Memory for recently read 1 MiB log blocks, shared by the consumers of a topic's queues (the store's option); 0 turns it off. */
    readCacheBytes: MessageStoreOptionsSchema.shape.readCacheBytes,
    maxBodyBytes: z.number().int().min(1).default(DEFAULT_MAX_BODY_BYTES),
    maxPropertiesBytes: z.number().int().min(1).default(DEFAULT_MAX_PROPERTIES_BYTES),
    heartbeatIntervalMs: z.number().int().min(10).default(DEFAULT_HEARTBEAT_INTERVAL_MS),
    /**
     * Isolation fence: writes are refused once no router with a healthy control state has answered a heartbeat
     * for this long, so a room cut off from the others stops taking writes nobody else will see.
     */
    writeLeaseMs: z.number().int().min(100).default(DEFAULT_WRITE_LEASE_MS),
    subscribeBatchMessages: z.number().int().min(1).default(DEFAULT_SUBSCRIBE_BATCH_MESSAGES),
    subscribeBatchBytes: z.number().int().min(1024).default(DEFAULT_SUBSCRIBE_BATCH_BYTES),
    maxPendingFramesPerStream: z.number().int().min(1).default(DEFAULT_MAX_PENDING_FRAMES_PER_STREAM),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.role === 'slave' && !config.upstream) {
      ctx.addIssue({ code: 'custom', path: ['upstream'], message: 'a slave needs the host:port of the member before it in the chain' });
    }
    if (config.role === 'master' && config.upstream) {
      ctx.addIssue({ code: 'custom', path: ['upstream'], message: 'a master has no upstream; remove it or make this member a slave' });
    }
  });

export type BrokerConfig = z.output<typeof BrokerConfigSchema>;
export type BrokerConfigInput = z.input<typeof BrokerConfigSchema>;

/** Parses a broker config; a bad one throws CONFIG_INVALID naming each bad field by its path. */
export function parseBrokerConfig(input: unknown, source = 'broker config'): BrokerConfig {
  return parseConfig(BrokerConfigSchema, input, `${source} is invalid`);
}

export function brokerName(config: Pick<BrokerConfig, 'group' | 'memberId' | 'room'>): string {
  return `${config.group}/${config.memberId}@${config.room}`;
}
