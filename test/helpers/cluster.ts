import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchServer, stopServer, type ServerHandle } from '@roomq/cli';

/**
 * A router and brokers as real processes on loopback (port 0), each test in its own temp dir.
 * Brokers can be killed with SIGKILL and restarted on the same data dir and port.
 */
export class TestCluster {
  router!: ServerHandle;
  readonly brokers = new Map<string, ServerHandle>();
  private readonly brokerConfigs = new Map<string, Record<string, unknown>>();

  private constructor(readonly dir: string) {}

  static async start(options: { autoCreateTopics?: boolean; brokers?: Array<Record<string, unknown>> } = {}): Promise<TestCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'roomq-test-'));
    const cluster = new TestCluster(dir);
    cluster.router = await launchServer(
      'router',
      {
        name: 'router-dc1',
        room: 'dc1',
        listen: '127.0.0.1:0',
        dataDir: join(dir, 'router'),
        autoCreateTopics: options.autoCreateTopics ?? true,
        heartbeatIntervalMs: 200,
        logLevel: 'info',
      },
      join(dir, 'logs'),
      'router',
    );
    for (const broker of options.brokers ?? [{}]) await cluster.addBroker(broker);
    return cluster;
  }

  get routerEndpoint(): string {
    return this.router.ready.endpoint;
  }

  /** Starts a broker (group broker-a member 0 by default); returns its name. */
  async addBroker(overrides: Record<string, unknown> = {}): Promise<string> {
    const group = (overrides['group'] as string | undefined) ?? 'broker-a';
    const config = {
      group,
      memberId: 0,
      room: 'dc1',
      role: 'master',
      listen: '127.0.0.1:0',
      routers: [this.routerEndpoint],
      dataDir: join(this.dir, group),
      flushMode: 'sync',
      heartbeatIntervalMs: 200,
      logLevel: 'info',
      ...overrides,
    };
    const handle = await launchServer('broker', config, join(this.dir, 'logs'), group);
    this.brokers.set(handle.ready.name, handle);
    // Restarts keep the port, so clients holding the old route reconnect to the same address.
    this.brokerConfigs.set(handle.ready.name, { ...config, listen: handle.ready.endpoint });
    return handle.ready.name;
  }

  broker(name = 'broker-a/0@dc1'): ServerHandle {
    const handle = this.brokers.get(name);
    if (!handle) throw new Error(`no broker ${name} in this test cluster`);
    return handle;
  }

  /** kill -9: no shutdown hook runs, unflushed state is lost exactly as in a crash. */
  async killBroker(name = 'broker-a/0@dc1'): Promise<void> {
    const handle = this.broker(name);
    handle.child.kill('SIGKILL');
    await handle.exited;
  }

  async stopBroker(name = 'broker-a/0@dc1'): Promise<void> {
    await stopServer(this.broker(name));
  }

  /** Starts a stopped or killed broker again with the same data dir and port. */
  async restartBroker(name = 'broker-a/0@dc1', overrides: Record<string, unknown> = {}): Promise<ServerHandle> {
    const config = { ...this.brokerConfigs.get(name)!, ...overrides };
    const handle = await launchServer('broker', config, join(this.dir, 'logs'), String(config['group']));
    this.brokers.set(name, handle);
    return handle;
  }

  async stop(): Promise<void> {
    for (const handle of this.brokers.values()) await stopServer(handle);
    await stopServer(this.router);
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Polls `check` until it returns a value (not undefined/false) or the deadline passes. */
export async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
}
