import { isLogger, parseConfig, parseTopicMode, validateRoomName, type TopicMode } from '@roomq/protocol';
import type { Logger } from 'pino';
import { z } from 'zod';
import { parseIpv4Cidr } from './client-placement.js';
import { ControlStoreConfigSchema } from './control-store-config.js';
import type { ControlStore } from './control-store.js';
import { MAX_QUEUES_PER_BROKER } from './topic-catalog.js';

/** Router name in logs and cluster status when none is given. */
export const DEFAULT_ROUTER_NAME = 'router';
/** Interface the router listens on by default: loopback, so nothing is exposed by accident. */
export const DEFAULT_ROUTER_HOST = '127.0.0.1';
/** Port the router listens on by default (RocketMQ's name server port). 0 picks a free port. */
export const DEFAULT_ROUTER_PORT = 9876;
/** How often brokers heartbeat; the heartbeat reply tells them. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 1000;
/** A broker is dead after this many heartbeat intervals without one, unless brokerTimeoutMs says otherwise. */
export const DEFAULT_BROKER_TIMEOUT_INTERVALS = 3;
/** Queues a new topic gets on every master broker when its creator does not say. */
export const DEFAULT_QUEUES_PER_BROKER = 4;
/** Unknown topics are an error by default; typos must not create topics in production. */
export const DEFAULT_AUTO_CREATE_TOPICS = false;

/** A client silent this long (no ClientHeartbeat) leaves its consumer groups. */
export const CLIENT_MEMBER_TIMEOUT_MS = 3000;
/** How often roomq clients send ClientHeartbeat; the reply tells them. */
export const CLIENT_HEARTBEAT_INTERVAL_MS = 1000;

function isRoomName(room: string): boolean {
  try {
    validateRoomName(room);
    return true;
  } catch {
    return false;
  }
}

/** A room tag such as `dc1`; shared by options and the config file. */
export const RoomNameSchema = z.string().refine(isRoomName, 'expected a room name of 1-32 characters from a-z 0-9 -, e.g. dc1');

export function isTopicModeText(text: string): boolean {
  try {
    parseTopicMode(text);
    return true;
  } catch {
    return false;
  }
}

/** `active-active` or `home:<room>`; parsed into a TopicMode. */
export const TopicModeSchema = z.string().refine(isTopicModeText, 'expected active-active or home:<room>, e.g. home:dc1').transform((text) => parseTopicMode(text));

/** Client IP ranges and their rooms, for clients whose ID does not name a known room. */
export const RoomByCidrSchema = z.array(
  z.object({ cidr: z.string().refine((v) => parseIpv4Cidr(v) !== undefined, 'expected an IPv4 CIDR, e.g. 10.1.0.0/16'), room: RoomNameSchema }).strict(),
);

const isStore = (value: unknown): value is ControlStore =>
  typeof value === 'object' && value !== null && typeof (value as ControlStore).createTopicIfAbsent === 'function' && typeof (value as ControlStore).open === 'function';

export const RouterOptionsSchema = z
  .object({
    /** Shown in logs and cluster status. */
    name: z.string().min(1).default(DEFAULT_ROUTER_NAME),
    /** The room this router runs in. */
    room: RoomNameSchema,
    host: z.string().min(1).default(DEFAULT_ROUTER_HOST),
    port: z.number().int().min(0).max(65535).default(DEFAULT_ROUTER_PORT),
    /** Host clients should use for this router when it differs from `host` (e.g. listening on 0.0.0.0). */
    advertisedHost: z.string().min(1).optional(),
    /** Directory of the embedded control store (`<dataDir>/control.json`). Required unless `store` or a `controlStore` with its own location is given. */
    dataDir: z.string().min(1).optional(),
    /** Which control store to build: the embedded file (default) or Redis shared by the routers of every room. */
    controlStore: ControlStoreConfigSchema.optional(),
    /** A control store instance to use instead (tests, embedding); the router opens and closes it. */
    store: z.custom<ControlStore>(isStore, 'expected a ControlStore').optional(),
    /** Client IP ranges → rooms, for clients whose ID names no known room (other RocketMQ clients). */
    roomByCidr: RoomByCidrSchema.default([]),
    /** Rooms of the deployment besides those learnt from brokers and routers, so client IDs naming them are believed early. */
    rooms: z.array(RoomNameSchema).default([]),
    /** Mode of topics created without one (CreateTopic with an empty mode, auto-creation); default `home:<room>`. */
    defaultTopicMode: TopicModeSchema.optional(),
    /** Create unknown topics on first use (QueryRoute, GetTopic with create_if_missing). */
    autoCreateTopics: z.boolean().default(DEFAULT_AUTO_CREATE_TOPICS),
    defaultQueuesPerBroker: z.number().int().min(1).max(MAX_QUEUES_PER_BROKER).default(DEFAULT_QUEUES_PER_BROKER),
    heartbeatIntervalMs: z.number().int().positive().default(DEFAULT_HEARTBEAT_INTERVAL_MS),
    /** Silence after which a broker is dead; default DEFAULT_BROKER_TIMEOUT_INTERVALS heartbeat intervals. */
    brokerTimeoutMs: z.number().int().positive().optional(),
    /** pino logger; the router logs through `logger.child({ component: 'router' })`. Silent by default. */
    logger: z.custom<Logger>(isLogger, 'expected a pino logger').optional(),
  })
  .superRefine((options, ctx) => {
    const located = options.store !== undefined || options.controlStore?.kind === 'redis' || (options.controlStore?.kind === 'file' && options.controlStore.path !== undefined);
    if (options.dataDir === undefined && !located) {
      ctx.addIssue({ code: 'custom', path: ['dataDir'], message: 'is required (the directory of the embedded control store) unless a store is given' });
    }
    if (options.brokerTimeoutMs !== undefined && options.brokerTimeoutMs <= options.heartbeatIntervalMs) {
      ctx.addIssue({ code: 'custom', path: ['brokerTimeoutMs'], message: `must be longer than heartbeatIntervalMs (${options.heartbeatIntervalMs}), or brokers flap between alive and dead` });
    }
  })
  .transform((options) => ({
    ...options,
    brokerTimeoutMs: options.brokerTimeoutMs ?? options.heartbeatIntervalMs * DEFAULT_BROKER_TIMEOUT_INTERVALS,
    defaultTopicMode: options.defaultTopicMode ?? ({ kind: 'home', room: options.room } as TopicMode),
  }));

/** Options as callers write them. */
export type RouterOptions = z.input<typeof RouterOptionsSchema>;
/** Options after defaults. */
export type ResolvedRouterOptions = z.output<typeof RouterOptionsSchema>;

/** Applies defaults and checks; throws CONFIG_INVALID naming the field. */
export function parseRouterOptions(options: RouterOptions): ResolvedRouterOptions {
  return parseConfig(RouterOptionsSchema, options, 'router options');
}
