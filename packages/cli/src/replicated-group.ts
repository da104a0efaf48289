import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchServer, stopServer, type ServerHandle } from './launcher.js';
import { LinkProxy } from '@roomq/room-link';

export interface MemberSpec {
  room: string;
  /** Put a room-link proxy between this member and its upstream (the cross-room hop). */
  viaLink?: boolean;
}

/**
 * One broker group as a chain of real processes (master, then replicas each copying the one before), with a
 * router. A member marked `viaLink` reaches its upstream through a LinkProxy the test can delay or cut.
 */
export class ReplicatedGroup {
  router!: ServerHandle;
  readonly members: ServerHandle[] = [];
  readonly links = new Map<number, LinkProxy>();
  private readonly configs: Array<Record<string, unknown>> = [];

  private constructor(readonly dir: string) {}

  static async start(options: {
    members: MemberSpec[];
    replicationMode: string;
    replicationTimeoutMs?: number;
    segmentSizeBytes?: number;
    flushMode?: 'sync' | 'async';
    /** Added one-way delay on every room link. */
    linkDelayMs?: number;
    logLevel?: string;
    parentDir?: string;
  }): Promise<ReplicatedGroup> {
    const dir = await mkdtemp(join(options.parentDir ?? tmpdir(), 'roomq-chain-'));
    const group = new ReplicatedGroup(dir);
    try {
      group.router = await launchServer(
        'router',
        { name: 'router-dc1', room: 'dc1', listen: '127.0.0.1:0', dataDir: join(dir, 'router'), autoCreateTopics: false, heartbeatIntervalMs: 200, logLevel: options.logLevel ?? 'info' },
        join(dir, 'logs'),
        'router',
      );
      const names = options.members.map((m, i) => `broker-a/${i}@${m.room}`);
      for (const [i, spec] of options.members.entries()) {
        let upstream: string | undefined;
        if (i > 0) {
          upstream = group.members[i - 1]!.ready.endpoint;
          if (spec.viaLink) {
            const link = new LinkProxy({ name: `link-${i}`, listen: '127.0.0.1:0', target: upstream, delayMs: options.linkDelayMs ?? 0 });
            const { port } = await link.start();
            group.links.set(i, link);
            upstream = `127.0.0.1:${port}`;
          }
        }
        const config = {
          group: 'broker-a',
          memberId: i,
          room: spec.room,
          role: i === 0 ? 'master' : 'slave',
          ...(upstream ? { upstream } : { chain: names.slice(1) }),
          replicationMode: options.replicationMode,
          replicationTimeoutMs: options.replicationTimeoutMs ?? 3000,
          listen: '127.0.0.1:0',
          routers: [group.router.ready.endpoint],
          dataDir: join(dir, `member-${i}`),
          flushMode: options.flushMode ?? 'sync',
          segmentSizeBytes: options.segmentSizeBytes ?? 1024 * 1024,
          heartbeatIntervalMs: 200,
          logLevel: options.logLevel ?? 'info',
        };
        const handle = await launchServer('broker', config, join(dir, 'logs'), `member-${i}`);
        group.members.push(handle);
        group.configs.push({ ...config, listen: handle.ready.endpoint });
      }
    } catch (err) {
      await group.stop();
      throw err;
    }
    return group;
  }

  get routerEndpoint(): string {
    return this.router.ready.endpoint;
  }

  endpoint(member: number): string {
    return this.members[member]!.ready.endpoint;
  }

  dataDir(member: number): string {
    return join(this.dir, `member-${member}`);
  }

  /** Starts a stopped or killed member again on the same data dir and port. */
  async restart(member: number): Promise<ServerHandle> {
    const handle = await launchServer('broker', this.configs[member]!, join(this.dir, 'logs'), `member-${member}`);
    this.members[member] = handle;
    return handle;
  }

  async kill(member: number): Promise<void> {
    const handle = this.members[member]!;
    handle.child.kill('SIGKILL');
    await handle.exited;
  }

  async stop(): Promise<void> {
    for (const handle of [...this.members].reverse()) await stopServer(handle);
    if (this.router) await stopServer(this.router);
    for (const link of this.links.values()) await link.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}
