/**
 * Several named link proxies run from one JSON config with one control port, e.g. the dc1 -> dc2 links to each
 * dc2 broker and router:
 *
 *   {
 *     "control": "127.0.0.1:7700",            // control API address; default 127.0.0.1:0
 *     "delayMs": 5,                           // default one-way delay of every link; default 0
 *     "logLevel": "info",                     // used by main.ts / the CLI only; default info
 *     "links": [
 *       { "name": "dc1-dc2-broker-a", "listen": "127.0.0.1:18081", "target": "10.0.2.5:8081" },
 *       { "name": "dc1-dc2-router",   "listen": "127.0.0.1:0",     "target": "10.0.2.9:9876", "delayMs": 20 }
 *     ]
 *   }
 *
 * Addresses are `host:port` text (IPv6 `[::1]:9000`) or `{ "host", "port" }`. Unknown fields are errors.
 */
import { formatHostPort, parseJsonConfig, type HostPort } from '@roomq/protocol';
import { pino, type Logger } from 'pino';
import { z } from 'zod';
import { LinkControlServer } from './control-server.js';
import { DEFAULT_HIGH_WATER_BYTES, DelayMsSchema, HostPortSchema } from './link-options.js';
import { LinkProxy } from './link-proxy.js';

/** Control API address when the config names none: loopback, any free port (the ready line reports it). */
export const DEFAULT_CONTROL_LISTEN = '127.0.0.1:0';

/** Log level of a link proxy process when the config names none. */
export const DEFAULT_LINK_LOG_LEVEL = 'info';

const LinkConfigSchema = z
  .object({
    name: z.string().min(1),
    listen: HostPortSchema,
    target: HostPortSchema.refine((t) => t.port !== 0, 'target port must not be 0'),
    delayMs: DelayMsSchema.optional(),
    highWaterBytes: z.number().int().positive().optional(),
  })
  .strict();

export const LinkProxiesConfigSchema = z
  .object({
    control: HostPortSchema.prefault(DEFAULT_CONTROL_LISTEN),
    delayMs: DelayMsSchema.default(0),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default(DEFAULT_LINK_LOG_LEVEL),
    links: z.array(LinkConfigSchema).min(1, 'name at least one link'),
  })
  .strict()
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.links.forEach((link, i) => {
      if (seen.has(link.name)) ctx.addIssue({ code: 'custom', path: ['links', i, 'name'], message: `duplicate link name ${JSON.stringify(link.name)}` });
      seen.add(link.name);
    });
  });

export type LinkProxiesConfigInput = z.input<typeof LinkProxiesConfigSchema>;
export type LinkProxiesConfig = z.output<typeof LinkProxiesConfigSchema>;

/**
 * Validates a config: a parsed JSON value or the file's text. Throws RoomqError CONFIG_INVALID whose message names
 * each bad field, e.g. `link proxy config: links.0.target: expected host:port, e.g. 127.0.0.1:9000`.
 */
export function parseLinkProxiesConfig(json: unknown): LinkProxiesConfig {
  return parseJsonConfig(LinkProxiesConfigSchema, json, 'link proxy config');
}

export interface RunningLink {
  name: string;
  listen: HostPort;
  target: HostPort;
  proxy: LinkProxy;
}

/** Running proxies and their control API; close() stops all of them. */
export interface RunningLinkProxies {
  links: RunningLink[];
  control: HostPort;
  close(): Promise<void>;
}

/** The JSON line a link proxy process prints when it is ready. */
export interface LinkProxiesReadyLine {
  type: 'ready';
  pid: number;
  control: { host: string; port: number; url: string };
  links: Array<{ name: string; listen: string; port: number; target: string; delayMs: number }>;
}

/**
 * Starts every link of a config and the control API. When any part fails to start, what did start is closed again
 * and the error is thrown. `config` may be raw (it is validated); logs go to `logger` or nowhere.
 */
export async function runLinkProxies(config: LinkProxiesConfigInput | LinkProxiesConfig, logger?: Logger): Promise<RunningLinkProxies> {
  const parsed = parseLinkProxiesConfig(config);
  const log = logger ?? pino({ level: 'silent' });
  const proxies = parsed.links.map(
    (link) =>
      new LinkProxy({
        name: link.name,
        listen: link.listen,
        target: link.target,
        delayMs: link.delayMs ?? parsed.delayMs,
        highWaterBytes: link.highWaterBytes ?? DEFAULT_HIGH_WATER_BYTES,
        logger: log,
      }),
  );
  const control = new LinkControlServer({ listen: parsed.control, links: proxies, logger: log });
  const closeAll = async (): Promise<void> => {
    await Promise.allSettled([control.close(), ...proxies.map((p) => p.close())]);
  };
  try {
    await Promise.all(proxies.map((p) => p.start()));
    const { port: controlPort } = await control.start();
    let closing: Promise<void> | undefined;
    return {
      links: proxies.map((proxy, i) => ({ name: proxy.name, listen: proxy.address(), target: parsed.links[i]!.target, proxy })),
      control: { host: parsed.control.host, port: controlPort },
      close: () => (closing ??= closeAll()),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** The ready line for running proxies; print it as one line of JSON. */
export function readyLine(running: RunningLinkProxies): LinkProxiesReadyLine {
  return {
    type: 'ready',
    pid: process.pid,
    control: { ...running.control, url: `http://${formatHostPort(running.control)}` },
    links: running.links.map((link) => ({
      name: link.name,
      listen: formatHostPort(link.listen),
      port: link.listen.port,
      target: formatHostPort(link.target),
      delayMs: link.proxy.stats().delayMs,
    })),
  };
}
