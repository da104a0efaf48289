import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import { adminServiceClient, messagingServiceClient, registryServiceClient, routeServiceClient, type BrokerStateMsg } from '@roomq/protocol';
import { Router, type RouterOptions } from '../src/index.js';

/** Everything a test opens, closed by cleanup() in afterEach. */
const opened: Array<() => Promise<void> | void> = [];

export async function cleanup(): Promise<void> {
  while (opened.length > 0) {
    const close = opened.pop()!;
    try {
      await close();
    } catch {
      // keep closing the rest
    }
  }
}

export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'roomq-router-test-'));
  opened.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface TestRouter {
  router: Router;
  port: number;
  target: string;
  dataDir: string | undefined;
}

export async function startRouter(options: Partial<RouterOptions> = {}): Promise<TestRouter> {
  const dataDir = options.store ? options.dataDir : (options.dataDir ?? (await tempDir()));
  const router = new Router({ room: 'dc1', host: '127.0.0.1', port: 0, ...options, dataDir });
  opened.push(() => router.close());
  const { port } = await router.start();
  return { router, port, target: `127.0.0.1:${port}`, dataDir };
}

type Ctor = ReturnType<typeof registryServiceClient>;

function client(ctor: Ctor, target: string): Client {
  const c = new ctor(target, credentials.createInsecure());
  opened.push(() => c.close());
  return c;
}

export const registry = (target: string): Client => client(registryServiceClient(), target);
export const admin = (target: string): Client => client(adminServiceClient(), target);
export const messaging = (target: string): Client => client(messagingServiceClient(), target);

/** A unary call with a deadline; rejects on transport errors only (statuses come back in the reply). */
export function unary<Res = any>(c: Client, method: string, request: unknown, metadata = new Metadata(), timeoutMs = 5000): Promise<Res> {
  return new Promise((resolve, reject) => {
    const fn = (c as unknown as Record<string, Function>)[method];
    if (!fn) throw new Error(`no method ${method}`);
    fn.call(c, request, metadata, { deadline: Date.now() + timeoutMs }, (err: ServiceError | null, reply: Res) => (err ? reject(err) : resolve(reply)));
  });
}

/** Collects a server stream until it ends. */
export function serverStream<Res = any>(c: Client, method: string, request: unknown, timeoutMs = 5000): Promise<Res[]> {
  return new Promise((resolve, reject) => {
    const fn = (c as unknown as Record<string, Function>)[method]!;
    const call = fn.call(c, request, new Metadata(), { deadline: Date.now() + timeoutMs });
    const frames: Res[] = [];
    call.on('data', (frame: Res) => frames.push(frame));
    call.on('error', reject);
    call.on('end', () => resolve(frames));
  });
}

/** Polls `condition` until it holds or the deadline passes. */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface FakeBrokerOptions {
  name: string;
  group: string;
  room?: string;
  role?: 'master' | 'slave';
  endpoint: string;
  status?: string;
  statusReason?: string;
  writable?: boolean;
  /** Durable log end reported as flushed_offset (and log_end_offset); replicas compete on it. */
  flushedOffset?: number;
  /** Masters: the members listed in `replication`, as `member` or `member:status` (default status `caught-up`). */
  replication?: string[];
}

/** A broker as the router sees one: a gRPC client sending BrokerHeartbeat with a BrokerState. */
export class FakeBroker {
  private timer: NodeJS.Timeout | undefined;
  readonly client: Client;
  state: FakeBrokerOptions;

  constructor(target: string, options: FakeBrokerOptions) {
    this.client = registry(target);
    this.state = { room: 'dc1', role: 'master', status: 'ready', writable: true, ...options };
    opened.push(() => this.stop());
  }

  wire(): BrokerStateMsg {
    const s = this.state;
    const memberId = Number(/\/(\d+)@/.exec(s.name)?.[1] ?? 0);
    return {
      identity: { name: s.name, group: s.group, member_id: memberId, room: s.room!, role: s.role!, endpoint: s.endpoint },
      status: s.status!,
      status_reason: s.statusReason ?? '',
      writable: s.writable!,
      log_end_offset: s.flushedOffset ?? 0,
      flushed_offset: s.flushedOffset ?? 0,
      topics: [],
      started_at_ms: 1,
      pid: process.pid,
      replication: (s.replication ?? []).map((entry) => {
        const [member, status = 'caught-up'] = entry.split(':');
        return { member: member!, room: member!.split('@')[1] ?? '', durable_offset: s.flushedOffset ?? 0, lag_bytes: 0, lag_ms: 0, status };
      }),
    };
  }

  beat(): Promise<any> {
    return unary(this.client, 'BrokerHeartbeat', { state: this.wire() });
  }

  /** Heartbeats every `intervalMs` until stop(). */
  async run(intervalMs: number): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat().catch(() => undefined), intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

export const routes = (target: string): Client => client(routeServiceClient(), target);

/** Metadata naming the client, as the roomq SDK and RocketMQ clients send it. */
export function asClient(clientId: string): Metadata {
  const metadata = new Metadata();
  metadata.set('x-mq-client-id', clientId);
  return metadata;
}

/** A Watch stream that records every event until closed. */
export function watch(target: string, request: { client_id: string; topics?: string[]; groups?: string[] }): { events: any[]; cancel: () => void; ended: Promise<void> } {
  const c = routes(target) as unknown as Record<string, Function>;
  const call = c.Watch!.call(c, request, asClient(request.client_id));
  const events: any[] = [];
  call.on('data', (event: any) => events.push(event));
  const ended = new Promise<void>((resolve) => {
    call.on('end', resolve);
    call.on('error', () => resolve());
  });
  const cancel = () => call.cancel();
  opened.push(cancel);
  return { events, cancel, ended };
}
