import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchServer, stopServer, type ServerHandle } from '@roomq/cli';

export type ControlStoreConfig = { kind: 'file'; path: string } | { kind: 'redis'; url: string; keyPrefix: string };

/**
 * Two rooms as real processes: a router per room on one shared control store, and a broker group with its
 * master in each room (broker-a in dc1, broker-b in dc2), every broker registered with both routers.
 */
export class TwoRooms {
  readonly routers = new Map<string, ServerHandle>();
  readonly brokers = new Map<string, ServerHandle>();

  private constructor(readonly dir: string) {}

  static async start(options: { controlStore?: (dir: string) => ControlStoreConfig; autoCreateTopics?: boolean } = {}): Promise<TwoRooms> {
    const dir = await mkdtemp(join(tmpdir(), 'roomq-rooms-'));
    const rooms = new TwoRooms(dir);
    const controlStore = options.controlStore?.(dir) ?? { kind: 'file', path: join(dir, 'control.json') };
    try {
      for (const room of ['dc1', 'dc2']) {
        const handle = await launchServer(
          'router',
          { name: `router-${room}`, room, listen: '127.0.0.1:0', dataDir: join(dir, `router-${room}`), controlStore, autoCreateTopics: options.autoCreateTopics ?? false, heartbeatIntervalMs: 200, logLevel: 'info' },
          join(dir, 'logs'),
          `router-${room}`,
        );
        rooms.routers.set(room, handle);
      }
      const routerEndpoints = [...rooms.routers.values()].map((r) => r.ready.endpoint);
      for (const [group, room] of [
        ['broker-a', 'dc1'],
        ['broker-b', 'dc2'],
      ] as const) {
        const handle = await launchServer(
          'broker',
          { group, memberId: 0, room, role: 'master', listen: '127.0.0.1:0', routers: routerEndpoints, dataDir: join(dir, group), flushMode: 'sync', heartbeatIntervalMs: 200, logLevel: 'info' },
          join(dir, 'logs'),
          group,
        );
        rooms.brokers.set(room, handle);
      }
    } catch (err) {
      await rooms.stop();
      throw err;
    }
    return rooms;
  }

  router(room: 'dc1' | 'dc2'): string {
    return this.routers.get(room)!.ready.endpoint;
  }

  /** Both routers, the given room's first: what a client in that room is configured with. */
  routersFor(room: 'dc1' | 'dc2'): string[] {
    const other = room === 'dc1' ? 'dc2' : 'dc1';
    return [this.router(room), this.router(other)];
  }

  async stop(): Promise<void> {
    for (const handle of [...this.brokers.values(), ...this.routers.values()]) await stopServer(handle);
    await rm(this.dir, { recursive: true, force: true });
  }
}
