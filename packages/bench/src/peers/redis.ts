import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { PeerDefinition, Session, Subject, Subscription } from './peer.js';
import { restoreOnSignal } from './restore-on-signal.js';
import { splitEndpoint } from './tcp-probe.js';

/**
 * Redis Streams as a peer: XADD to publish, XREADGROUP + XACK to consume as a group.
 *
 * The variants turn the append-only file on with the named fsync policy through CONFIG SET, because that is
 * what decides what an XADD reply is worth. The same Redis serves roomq's tests, so the previous settings are
 * read first and put back on close (and on Ctrl-C); nothing is written to redis.conf (no CONFIG REWRITE).
 */

export const REDIS_ENDPOINT = '127.0.0.1:6379';
/** Entries per XREADGROUP: large enough that a backlog is read in few round trips. */
const READ_COUNT = 1000;
/** XREADGROUP blocks this long at most, so a stopped consumer notices within it. */
const READ_BLOCK_MS = 100;
/** Enabling the AOF rewrites it in the background first; the variant waits for that at most this long. */
const AOF_READY_TIMEOUT_MS = 60_000;

const VARIANTS = {
  everysec: {
    label: 'Redis Streams (AOF, appendfsync everysec)',
    shortLabel: 'Redis everysec',
    durability: { fsyncedBeforeAck: false, ackMeans: 'reply after write() to the AOF; fsync once a second (up to ~1 s of acked writes lost on power loss)' },
  },
  always: {
    label: 'Redis Streams (AOF, appendfsync always)',
    shortLabel: 'Redis always',
    durability: { fsyncedBeforeAck: true, ackMeans: 'reply after the AOF is fsynced (one fsync per event-loop pass, group commit)' },
  },
} as const;
type Variant = keyof typeof VARIANTS;

export const redisPeer: PeerDefinition = {
  name: 'redis',
  endpoint: REDIS_ENDPOINT,
  variants: Object.keys(VARIANTS),
  defaultVariants: ['everysec', 'always'],
  open: (variant) => RedisStreamsSubject.open(variant as Variant),
};

/**
 * `autoPipelining` writes the commands issued in one tick in one write, as a loaded client would; it is only
 * for XADD, because ioredis drops the command name of `call`/`callBuffer` under it.
 */
function connectRedis(name: string, autoPipelining = false): Redis {
  const [host, port] = splitEndpoint(REDIS_ENDPOINT);
  // RESP2 so replies have the shapes `StreamReply` reads, whatever ioredis defaults to.
  return new Redis({ host, port, connectionName: name, protocol: 2, enableAutoPipelining: autoPipelining, maxRetriesPerRequest: 1, connectTimeout: 2_000, retryStrategy: () => null });
}

class RedisStreamsSubject implements Subject {
  readonly id: string;
  readonly label: string;
  readonly shortLabel: string;
  readonly durability;
  private readonly runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  private closing: Promise<void> | undefined;

  private constructor(
    variant: Variant,
    private readonly redis: Redis,
    private readonly writer: Redis,
    private readonly previous: { appendonly: string; appendfsync: string },
    private readonly unguard: () => void,
  ) {
    this.id = `redis:${variant}`;
    this.label = VARIANTS[variant].label;
    this.shortLabel = VARIANTS[variant].shortLabel;
    this.durability = VARIANTS[variant].durability;
  }

  static async open(variant: Variant): Promise<RedisStreamsSubject> {
    const redis = connectRedis('roomq-bench');
    try {
      const previous = { appendonly: await configGet(redis, 'appendonly'), appendfsync: await configGet(redis, 'appendfsync') };
      const restore = (): Promise<void> => restoreConfig(redis, previous);
      const unguard = restoreOnSignal(restore);
      try {
        await redis.call('CONFIG', 'SET', 'appendfsync', variant);
        await redis.call('CONFIG', 'SET', 'appendonly', 'yes');
        await waitForAof(redis);
      } catch (err) {
        await restore().catch(() => undefined);
        unguard();
        throw err;
      }
      return new RedisStreamsSubject(variant, redis, connectRedis('roomq-bench-writer', true), previous, unguard);
    } catch (err) {
      redis.disconnect();
      throw err;
    }
  }

  async openSession(name: string): Promise<Session> {
    return new RedisStreamSession(this.redis, this.writer, `roomq-bench:${this.runId}:${name}`);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await restoreConfig(this.redis, this.previous);
      } finally {
        this.unguard();
        this.writer.disconnect();
        this.redis.disconnect();
      }
    })();
    return this.closing;
  }
}

class RedisStreamSession implements Session {
  private readonly subscriptions: Subscription[] = [];

  constructor(
    private readonly redis: Redis,
    private readonly writer: Redis,
    private readonly key: string,
  ) {}

  async publish(body: Buffer): Promise<void> {
    await this.writer.xadd(this.key, '*', 'b', body);
  }

  async consume(onMessage: (body: Uint8Array) => void): Promise<Subscription> {
    const group = 'bench';
    await this.redis.call('XGROUP', 'CREATE', this.key, group, '0', 'MKSTREAM');
    // XREADGROUP BLOCK holds its connection, so each consumer has its own.
    const reader = connectRedis('roomq-bench-reader');
    let running = true;
    let failure: unknown;
    const loop = (async () => {
      while (running) {
        const reply = (await reader.callBuffer('XREADGROUP', 'GROUP', group, 'c', 'COUNT', READ_COUNT, 'BLOCK', READ_BLOCK_MS, 'STREAMS', this.key, '>')) as StreamReply;
        const entries = reply?.[0]?.[1];
        if (!entries || entries.length === 0) continue;
        const ids: Buffer[] = [];
        for (const [id, fields] of entries) {
          ids.push(id);
          if (fields?.[1]) onMessage(fields[1]);
        }
        // Acknowledged per batch, like a group consumer committing; pipelined ahead of the next read.
        reader.callBuffer('XACK', this.key, group, ...ids).catch(() => undefined);
      }
    })().catch((err: unknown) => {
      // Kept for stop(), which the scenario calls when messages stop arriving: it then says why.
      if (running) failure = err;
    });
    let stopping: Promise<void> | undefined;
    const subscription: Subscription = {
      stop: () =>
        (stopping ??= (async () => {
          running = false;
          await loop;
          reader.disconnect();
          if (failure) throw new Error(`XREADGROUP on ${this.key} failed: ${failure instanceof Error ? failure.message : String(failure)}`, { cause: failure });
        })()),
    };
    this.subscriptions.push(subscription);
    return subscription;
  }

  async close(): Promise<void> {
    for (const s of this.subscriptions) await s.stop();
    await this.redis.del(this.key).catch(() => undefined);
  }
}

/** RESP2 reply of XREADGROUP on one stream: [[key, [[id, [field, value, …]], …]]] or null. */
type StreamReply = Array<[Buffer, Array<[Buffer, Buffer[] | null]>]> | null;

async function configGet(redis: Redis, name: string): Promise<string> {
  const reply = (await redis.call('CONFIG', 'GET', name)) as string[];
  const value = reply[1];
  if (value === undefined) throw new Error(`Redis at ${REDIS_ENDPOINT} did not return CONFIG ${name}`);
  return value;
}

async function restoreConfig(redis: Redis, previous: { appendonly: string; appendfsync: string }): Promise<void> {
  await redis.call('CONFIG', 'SET', 'appendonly', previous.appendonly);
  await redis.call('CONFIG', 'SET', 'appendfsync', previous.appendfsync);
}

/** Turning the AOF on starts a rewrite; writes are only fsynced as configured once it finished. */
async function waitForAof(redis: Redis): Promise<void> {
  const deadline = Date.now() + AOF_READY_TIMEOUT_MS;
  for (;;) {
    const info = await redis.info('persistence');
    const field = (name: string): string | undefined => new RegExp(`^${name}:(\\S+)`, 'm').exec(info)?.[1];
    if (field('aof_enabled') === '1' && field('aof_rewrite_in_progress') === '0' && field('aof_rewrite_scheduled') === '0') return;
    if (Date.now() > deadline) throw new Error(`Redis at ${REDIS_ENDPOINT} did not finish its AOF rewrite within ${AOF_READY_TIMEOUT_MS} ms`);
    await sleep(50);
  }
}
