import { parseConfig } from '@roomq/protocol';
import { z } from 'zod';

/** The rooms of the drill's cluster (the local two-room topology). */
export const DRILL_ROOMS = ['dc1', 'dc2'] as const;
export type DrillRoom = (typeof DRILL_ROOMS)[number];

/**
 * How the room is taken away.
 * - `clean`: an operator's cut (Admin cutRoom) while everything runs.
 * - `kill`: every process of the room dies by `kill -9`, then the cut.
 * - `partition`: every link between the rooms goes silent (room-link blackhole), then the cut.
 * - `none`: no cut and no restore: a baseline run of the same load and checks.
 */
export const DrillModeSchema = z.enum(['clean', 'kill', 'partition', 'none']);
export type DrillMode = z.output<typeof DrillModeSchema>;

/** Messages per second each room's producer sends: steady, small enough for two cores with eight servers. */
export const DEFAULT_RATE_PER_SEC = 200;
/** Load before the cut, so routes, assignments and replication are settled when it comes. */
export const DEFAULT_WARMUP_S = 5;
/** How long the room stays cut with load running. */
export const DEFAULT_CUT_S = 10;
/** Body size of each message; bodies are derived from their key so consumers can prove them intact. */
export const DEFAULT_MESSAGE_BYTES = 256;
/** Queues per broker group of the drill's topics. */
export const DEFAULT_QUEUES = 4;
/** After the load stops, how long consumers get to receive every acknowledged key. */
export const DEFAULT_DRAIN_TIMEOUT_S = 30;
/** Where the partition drill's control store lives; every drill uses its own key prefix. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
/** How often committed offsets are read. */
export const DEFAULT_OFFSET_POLL_MS = 200;

export const DrillOptionsSchema = z
  .object({
    mode: DrillModeSchema.default('clean'),
    /** The room to cut; the other one is the surviving room. */
    room: z.enum(DRILL_ROOMS).default('dc1'),
    ratePerSec: z.number().int().min(1).max(20_000).default(DEFAULT_RATE_PER_SEC),
    warmupS: z.number().min(0).max(3600).default(DEFAULT_WARMUP_S),
    cutS: z.number().min(0).max(3600).default(DEFAULT_CUT_S),
    replication: z.string().regex(/^(async|sync:[1-9]\d*)$/, 'expected async or sync:N, e.g. sync:1').default('sync:1'),
    /** Brokers' write lease (broker option writeLeaseMs); the brokers' default when absent. */
    leaseMs: z.number().int().min(100).max(600_000).optional(),
    /** Where the cluster keeps its data; a fresh temp dir when absent. Must not hold another cluster. */
    dataDir: z.string().min(1).optional(),
    /** Keep the data dir (logs, configs, data) after the drill instead of deleting it. */
    keep: z.boolean().default(false),
    messageBytes: z.number().int().min(1).max(1024 * 1024).default(DEFAULT_MESSAGE_BYTES),
    queues: z.number().int().min(1).max(64).default(DEFAULT_QUEUES),
    drainTimeoutS: z.number().min(1).max(3600).default(DEFAULT_DRAIN_TIMEOUT_S),
    redisUrl: z.string().regex(/^rediss?:\/\/\S+$/, 'expected a redis:// URL, e.g. redis://127.0.0.1:6379').default(DEFAULT_REDIS_URL),
    offsetPollMs: z.number().int().min(20).max(10_000).default(DEFAULT_OFFSET_POLL_MS),
    json: z.boolean().default(false),
  })
  .strict();

export type DrillOptions = z.output<typeof DrillOptionsSchema>;
export type DrillOptionsInput = z.input<typeof DrillOptionsSchema>;

export function parseDrillOptions(input: DrillOptionsInput): DrillOptions {
  return parseConfig(DrillOptionsSchema, input, 'drill options');
}

export function otherRoom(room: DrillRoom): DrillRoom {
  return room === 'dc1' ? 'dc2' : 'dc1';
}
