import { parseHostPort, parseJsonConfig } from '@roomq/protocol';
import { pino, type Logger } from 'pino';
import { z } from 'zod';
import { ControlStoreConfigSchema } from './control-store-config.js';
import {
  DEFAULT_AUTO_CREATE_TOPICS,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_QUEUES_PER_BROKER,
  DEFAULT_ROUTER_NAME,
  isTopicModeText,
  RoomByCidrSchema,
  RoomNameSchema,
  type RouterOptions,
} from './router-options.js';
import { MAX_QUEUES_PER_BROKER } from './topic-catalog.js';

/** Default log level of a router process. */
export const DEFAULT_ROUTER_LOG_LEVEL = 'info';

/** The config file of a production router process (JSON). Unknown fields are errors, so typos are caught. */
export const RouterConfigSchema = z
  .object({
    name: z.string().min(1).default(DEFAULT_ROUTER_NAME),
    room: RoomNameSchema,
    /** `host:port` to listen on, e.g. `0.0.0.0:9876`; IPv6 as `[::]:9876`. */
    listen: z.string().refine((v) => parseHostPort(v) !== undefined, 'expected host:port, e.g. 0.0.0.0:9876'),
    advertisedHost: z.string().min(1).optional(),
    dataDir: z.string().min(1).optional(),
    /** `{ "kind": "file", "path"?: … }` (default, `<dataDir>/control.json`) or `{ "kind": "redis", "url": …, "keyPrefix"?: … }`. */
    controlStore: ControlStoreConfigSchema.optional(),
    roomByCidr: RoomByCidrSchema.optional(),
    rooms: z.array(RoomNameSchema).optional(),
    /** `active-active` or `home:<room>`; default `home:<room>`. Kept as text here, parsed by the router options. */
    defaultTopicMode: z.string().refine(isTopicModeText, 'expected active-active or home:<room>, e.g. home:dc1').optional(),
    autoCreateTopics: z.boolean().default(DEFAULT_AUTO_CREATE_TOPICS),
    defaultQueuesPerBroker: z.number().int().min(1).max(MAX_QUEUES_PER_BROKER).default(DEFAULT_QUEUES_PER_BROKER),
    heartbeatIntervalMs: z.number().int().positive().default(DEFAULT_HEARTBEAT_INTERVAL_MS),
    brokerTimeoutMs: z.number().int().positive().optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default(DEFAULT_ROUTER_LOG_LEVEL),
  })
  .strict()
  .superRefine((config, ctx) => {
    const located = config.controlStore?.kind === 'redis' || (config.controlStore?.kind === 'file' && config.controlStore.path !== undefined);
    if (config.dataDir === undefined && !located) ctx.addIssue({ code: 'custom', path: ['dataDir'], message: 'is required' });
    if (config.brokerTimeoutMs !== undefined && config.brokerTimeoutMs <= config.heartbeatIntervalMs) {
      ctx.addIssue({ code: 'custom', path: ['brokerTimeoutMs'], message: `must be longer than heartbeatIntervalMs (${config.heartbeatIntervalMs})` });
    }
  });

export type RouterConfig = z.output<typeof RouterConfigSchema>;

/**
 * Validates a router config: a parsed JSON value or the file's text. Throws RoomqError CONFIG_INVALID whose
 * message names each bad field, e.g. `router config: listen: expected host:port, e.g. 0.0.0.0:9876`.
 */
export function parseRouterConfig(json: unknown): RouterConfig {
  return parseJsonConfig(RouterConfigSchema, json, 'router config');
}

/** Router options for a config; logs go to stdout at the config's level unless a logger is given. */
export function routerOptionsFromConfig(config: RouterConfig, logger?: Logger): RouterOptions {
  const listen = parseHostPort(config.listen)!;
  return {
    name: config.name,
    room: config.room,
    host: listen.host,
    port: listen.port,
    advertisedHost: config.advertisedHost,
    dataDir: config.dataDir,
    controlStore: config.controlStore,
    roomByCidr: config.roomByCidr,
    rooms: config.rooms,
    defaultTopicMode: config.defaultTopicMode,
    autoCreateTopics: config.autoCreateTopics,
    defaultQueuesPerBroker: config.defaultQueuesPerBroker,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    brokerTimeoutMs: config.brokerTimeoutMs,
    logger: logger ?? pino({ level: config.logLevel }),
  };
}
