import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { launchServer, stopServer, type ServerHandle } from '@roomq/cli';

/** Routers and brokers as real processes on loopback, for client-path benchmarks. */
export class BenchCluster {
  private constructor(
    readonly dir: string,
    readonly routers: ServerHandle[],
    readonly brokers: ServerHandle[],
  ) {}

  /** One router and one broker: the walking skeleton's path. */
  static async start(parent: string, flushMode: 'sync' | 'async'): Promise<BenchCluster> {
    return BenchCluster.launch(parent, flushMode, ['dc1'], [['broker-a', 'dc1']]);
  }

  /** A router per room on one embedded store and a master per room: the two-room path. */
  static async startTwoRooms(parent: string, flushMode: 'sync' | 'async'): Promise<BenchCluster> {
    return BenchCluster.launch(parent, flushMode, ['dc1', 'dc2'], [
      ['broker-a', 'dc1'],
      ['broker-b', 'dc2'],
    ]);
  }

  private static async launch(parent: string, flushMode: 'sync' | 'async', rooms: string[], groups: Array<[string, string]>): Promise<BenchCluster> {
    const dir = await mkdtemp(join(parent, 'cluster-'));
    const routers: ServerHandle[] = [];
    const brokers: ServerHandle[] = [];
    const cluster = new BenchCluster(dir, routers, brokers);
    try {
      for (const room of rooms) {
        routers.push(
          await launchServer(
            'router',
            { name: `bench-router-${room}`, room, listen: '127.0.0.1:0', dataDir: join(dir, `router-${room}`), controlStore: { kind: 'file', path: join(dir, 'control.json') }, autoCreateTopics: true, logLevel: 'warn' },
            dir,
            `router-${room}`,
          ),
        );
      }
      for (const [group, room] of groups) {
        brokers.push(
          await launchServer(
            'broker',
            { group, room, listen: '127.0.0.1:0', routers: routers.map((r) => r.ready.endpoint), dataDir: join(dir, group), flushMode, logLevel: 'warn', segmentSizeBytes: 256 * 1024 * 1024 },
            dir,
            group,
          ),
        );
      }
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  get routerEndpoint(): string {
    return this.routers[0]!.ready.endpoint;
  }

  /** Every router, the given room's first. */
  routersFor(room: string): string[] {
    return [...this.routers].sort((a, b) => (a.ready.room === room ? -1 : b.ready.room === room ? 1 : 0)).map((r) => r.ready.endpoint);
  }

  async stop(): Promise<void> {
    for (const handle of [...this.brokers, ...this.routers]) await stopServer(handle);
    await rm(this.dir, { recursive: true, force: true });
  }
}
