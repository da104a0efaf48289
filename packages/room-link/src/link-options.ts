import { parseConfig, parseHostPort } from '@roomq/protocol';
import type { Logger } from 'pino';
import { z } from 'zod';

/** One-way delay added to each direction when none is configured: none, the link is passed through as is. */
export const DEFAULT_DELAY_MS = 0;

/** Name of a link proxy when none is given; appears in logs and in the control API. */
export const DEFAULT_LINK_NAME = 'link';

/**
 * Bytes a connection may hold queued in one direction before the proxy stops reading from the sender. 4 MiB lets
 * a delayed link carry about 80 MB/s at 50 ms one-way delay; beyond that the sender waits, as it would on a real
 * link whose window is full.
 */
export const DEFAULT_HIGH_WATER_BYTES = 4 * 1024 * 1024;

/** Largest delay accepted: an hour. Anything longer is a typo, not a drill. */
export const MAX_DELAY_MS = 3_600_000;

/** `host:port` text (IPv6 as `[::1]:9000`) or `{ host, port }`; port 0 picks a free port where one listens. */
export const HostPortSchema = z.union([
  z
    .string()
    .transform((text, ctx) => {
      const parsed = parseHostPort(text);
      if (parsed === undefined) {
        ctx.addIssue({ code: 'custom', message: 'expected host:port, e.g. 127.0.0.1:9000' });
        return z.NEVER;
      }
      return parsed;
    }),
  z.object({ host: z.string().min(1), port: z.number().int().min(0).max(65535) }).strict(),
], { error: 'expected host:port (e.g. 127.0.0.1:9000) or { "host", "port" }' });

export const DelayMsSchema = z.number().min(0).max(MAX_DELAY_MS);

/** How a cut link treats connections; see LinkProxy.cut. */
export type CutMode = 'reset' | 'blackhole';

export const CutModeSchema = z.enum(['reset', 'blackhole']);

/** State of a link as the control API reports it. */
export type LinkState = 'open' | 'cut-reset' | 'cut-blackhole';

export const LinkProxyOptionsSchema = z
  .object({
    /** Where the proxy listens; port 0 picks a free one (start() returns it). */
    listen: HostPortSchema,
    /** Where every accepted connection is forwarded. */
    target: HostPortSchema.refine((t) => t.port !== 0, 'target port must not be 0'),
    /** One-way delay in milliseconds added to each direction (a round trip gets twice this). */
    delayMs: DelayMsSchema.default(DEFAULT_DELAY_MS),
    name: z.string().min(1).default(DEFAULT_LINK_NAME),
    highWaterBytes: z.number().int().positive().default(DEFAULT_HIGH_WATER_BYTES),
    /** Silent unless given. */
    logger: z.custom<Logger>((v) => typeof v === 'object' && v !== null && typeof (v as Logger).child === 'function', 'expected a pino logger').optional(),
  })
  .strict();

export type LinkProxyOptions = z.input<typeof LinkProxyOptionsSchema>;
export type ResolvedLinkProxyOptions = z.output<typeof LinkProxyOptionsSchema>;

/** Validates options; throws RoomqError CONFIG_INVALID naming each bad field. */
export function parseLinkProxyOptions(options: LinkProxyOptions): ResolvedLinkProxyOptions {
  return parseConfig(LinkProxyOptionsSchema, options, 'link proxy options');
}
