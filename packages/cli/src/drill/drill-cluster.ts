import { join } from 'node:path';
import { parseBrokerConfig } from '@roomq/broker';
import { RoomqError } from '@roomq/protocol';
import { launchServer, stopServer, type ServerHandle } from '../launcher.js';
import { localBrokers, localRouters, type BrokerPlan, type RouterPlan } from '../local-topology.js';
import { RoomLinks } from './room-links.js';

/**
 * Heartbeats every 200 ms (the servers' default is 1 s): a router then notices a dead broker, and pushes a
 * changed route, within a fraction of the 3 s a drill allows for producers to move.
 */
const DRILL_HEARTBEAT_MS = 200;

export interface DrillClusterOptions {
  dataDir: string;
  replicationMode: string;
  /** Brokers' writeLeaseMs; their default when absent. */
  leaseMs?: number | undefined;
  /**
   * Partition drills: every connection between the rooms goes through a room-link proxy, and the routers
   * share a Redis control store that the isolated room's router reaches through a proxy too.
   */
  partition?: { isolatedRoom: string; redisUrl: string; keyPrefix: string } | undefined;
}

/** A broker of the drill's cluster as the drill knows it from its own configs. */
export interface DrillMember {
  name: string;
  group: string;
  memberId: number;
  room: string;
  configuredRole: 'master' | 'slave';
  endpoint: string;
  dataDir: string;
  pid: number;
  running: boolean;
}

/** A server that ended without the drill stopping or killing it: a crash worth the report. */
export interface UnexpectedExit {
  name: string;
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  log: string;
}

interface Server {
  name: string;
  room: string;
  /** The config it was started with, its port fixed: a restart comes back where clients look for it. */
  config: Record<string, unknown>;
  handle: ServerHandle;
}

interface Broker extends Server {
  plan: BrokerPlan;
}

/**
 * The drill's own two-room cluster, shaped like `roomq local` (a router per room; broker-a with its master in
 * dc1, broker-b with its master in dc2, each a chain of three across both rooms), on free ports in the drill's
 * data dir. It can kill a room's processes and start them again on the same data and ports.
 */
export class DrillCluster {
  readonly links = new RoomLinks();
  private readonly routers = new Map<string, Server>();
  private readonly brokers: Broker[] = [];
  private readonly linkEndpoints = new Map<string, Promise<string>>();
  /** Handles the drill itself stopped or killed; any other exit is unexpected. */
  private readonly expectedExits = new WeakSet<ServerHandle>();
  readonly unexpectedExits: UnexpectedExit[] = [];
  private readonly exitListeners: Array<(exit: UnexpectedExit) => void> = [];
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly dataDir: string,
    private readonly options: DrillClusterOptions,
  ) {}

  get logDir(): string {
    return join(this.dataDir, 'logs');
  }

  /** Starts every server; on failure stops what it started and rethrows. */
  static async start(options: DrillClusterOptions, onStarted: (name: string, pid: number) => void = () => {}): Promise<DrillCluster> {
    const cluster = new DrillCluster(options.dataDir, options);
    try {
      for (const plan of localRouters(options.dataDir, { routerPort: 0, brokerPort: 0 })) {
        const server = await cluster.startRouter(plan);
        onStarted(server.name, server.handle.ready.pid);
      }
      // Groups start side by side; within a chain each member's upstream must be listening before it starts.
      const plans = localBrokers(options.dataDir, { routerPort: 0, brokerPort: 0 }, 'sync', options.replicationMode);
      const chains = new Map<string, BrokerPlan[]>();
      for (const plan of plans) chains.set(plan.group, [...(chains.get(plan.group) ?? []), plan]);
      await Promise.all(
        [...chains.values()].map(async (chain) => {
          for (const plan of chain) {
            const broker = await cluster.startBroker(plan);
            onStarted(broker.name, broker.handle.ready.pid);
          }
        }),
      );
      cluster.brokers.sort((a, b) => a.plan.group.localeCompare(b.plan.group) || a.plan.memberId - b.plan.memberId);
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  routerEndpoint(room: string): string {
    const router = this.routers.get(room);
    if (!router) throw new RoomqError('BAD_REQUEST', `the drill cluster has no room ${room}; its rooms are ${[...this.routers.keys()].join(', ')}`);
    return router.handle.ready.endpoint;
  }

  /**
   * What a client in `room` is configured with: its own room's router first, then the others. In partition
   * drills the others are reached over the room link like the servers' connections, so a partitioned room's
   * clients hear only their own router, as they would in a real partition. (Their connections to brokers are
   * not proxied: routes name brokers by their own endpoints.)
   */
  async routersFor(room: string): Promise<string[]> {
    const others = [...this.routers.keys()].filter((r) => r !== room);
    return [this.routerEndpoint(room), ...(await Promise.all(others.map((r) => this.crossRoom(room, r, `router-${r}`, this.routerEndpoint(r)))))];
  }

  rooms(): string[] {
    return [...this.routers.keys()];
  }

  members(): DrillMember[] {
    return this.brokers.map((b) => ({
      name: b.name,
      group: b.plan.group,
      memberId: b.plan.memberId,
      room: b.room,
      configuredRole: b.plan.memberId === 0 ? 'master' : 'slave',
      endpoint: b.handle.ready.endpoint,
      dataDir: String(b.config['dataDir']),
      pid: b.handle.ready.pid,
      running: isRunning(b.handle),
    }));
  }

  /** Groups with their configured master and members in chain order. */
  groups(): Array<{ group: string; master: DrillMember; members: DrillMember[] }> {
    const byGroup = new Map<string, DrillMember[]>();
    for (const m of this.members()) byGroup.set(m.group, [...(byGroup.get(m.group) ?? []), m]);
    return [...byGroup].map(([group, members]) => ({ group, master: members.find((m) => m.configuredRole === 'master')!, members }));
  }

  /** The write lease the brokers run with: --lease-ms, else their default, as their config schema resolves it. */
  effectiveLeaseMs(): number | undefined {
    const config = this.brokers[0]?.config;
    if (!config) return undefined;
    const resolved = parseBrokerConfig(config) as { writeLeaseMs?: number };
    return resolved.writeLeaseMs;
  }

  /** Every running server process of a room (router and brokers). */
  roomProcesses(room: string): Array<{ name: string; pid: number }> {
    const servers = [...(this.routers.has(room) ? [this.routers.get(room)!] : []), ...this.brokers.filter((b) => b.room === room)];
    return servers.filter((s) => isRunning(s.handle)).map((s) => ({ name: s.name, pid: s.handle.ready.pid }));
  }

  /** `kill -9` every process of the room, all at once as a power loss would; resolves once all are gone. */
  async killRoom(room: string): Promise<Array<{ name: string; pid: number }>> {
    const servers = [...this.brokers.filter((b) => b.room === room), ...(this.routers.has(room) ? [this.routers.get(room)!] : [])].filter((s) => isRunning(s.handle));
    for (const s of servers) {
      this.expectedExits.add(s.handle);
      s.handle.child.kill('SIGKILL');
    }
    await Promise.all(servers.map((s) => s.handle.exited));
    return servers.map((s) => ({ name: s.name, pid: s.handle.ready.pid }));
  }

  /** Starts the room's stopped processes again with their configs: router first, then brokers in chain order. */
  async restartRoom(room: string): Promise<Array<{ name: string; pid: number }>> {
    const started: Array<{ name: string; pid: number }> = [];
    const router = this.routers.get(room);
    const servers: Server[] = [...(router ? [router] : []), ...this.brokers.filter((b) => b.room === room)];
    for (const server of servers) {
      if (isRunning(server.handle)) continue;
      server.handle = this.watch(server.name, await launchServer(server.handle.role, server.config, this.logDir, logName(server.name)));
      started.push({ name: server.name, pid: server.handle.ready.pid });
    }
    return started;
  }

  /** Stops every server (brokers first, so their last heartbeats reach a router) and every link. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const servers: Server[] = [...[...this.brokers].reverse(), ...this.routers.values()];
      for (const s of servers) this.expectedExits.add(s.handle);
      await Promise.allSettled(servers.map((s) => stopServer(s.handle)));
      await this.links.close();
    })();
    return this.stopping;
  }

  /** Last resort on exit: SIGKILL whatever still runs (children also stop when their IPC channel closes). */
  killAllNow(): void {
    for (const s of [...this.brokers, ...this.routers.values()]) {
      this.expectedExits.add(s.handle);
      if (isRunning(s.handle)) s.handle.child.kill('SIGKILL');
    }
  }

  /** Calls `listener` for every server that ends without the drill having stopped or killed it. */
  onUnexpectedExit(listener: (exit: UnexpectedExit) => void): void {
    this.exitListeners.push(listener);
  }

  private watch(name: string, handle: ServerHandle): ServerHandle {
    void handle.exited.then(({ code, signal }) => {
      if (this.expectedExits.has(handle)) return;
      const exit: UnexpectedExit = { name, pid: handle.ready.pid, code, signal, log: handle.logPath };
      this.unexpectedExits.push(exit);
      for (const listener of this.exitListeners) listener(exit);
    });
    return handle;
  }

  private async startRouter(plan: RouterPlan): Promise<Server> {
    const config: Record<string, unknown> = { ...plan.config, heartbeatIntervalMs: DRILL_HEARTBEAT_MS, autoCreateTopics: false };
    const partition = this.options.partition;
    if (partition) {
      let url = partition.redisUrl;
      if (plan.room === partition.isolatedRoom) {
        const target = redisHostPort(url);
        url = withHostPort(url, await this.links.open(`${plan.room}->redis`, plan.room, 'redis', target));
      }
      config['controlStore'] = { kind: 'redis', url, keyPrefix: partition.keyPrefix };
    }
    const handle = this.watch(plan.name, await launchServer('router', config, this.logDir, logName(plan.name)));
    const server: Server = { name: plan.name, room: plan.room, config: { ...config, listen: handle.ready.endpoint }, handle };
    this.routers.set(plan.room, server);
    return server;
  }

  private async startBroker(plan: BrokerPlan): Promise<Broker> {
    const upstreamMember = plan.memberId === 0 ? undefined : this.brokers.find((b) => b.plan.group === plan.group && b.plan.memberId === plan.memberId - 1);
    let upstream = upstreamMember?.handle.ready.endpoint;
    const routers: string[] = [];
    for (const [room, router] of this.routers) {
      routers.push(room === plan.room ? router.handle.ready.endpoint : await this.crossRoom(plan.room, room, `router-${room}`, router.handle.ready.endpoint));
    }
    if (upstream && upstreamMember && upstreamMember.room !== plan.room) {
      upstream = await this.crossRoom(plan.room, upstreamMember.room, upstreamMember.name, upstream);
    }
    const config: Record<string, unknown> = {
      ...plan.config(routers, upstream),
      heartbeatIntervalMs: DRILL_HEARTBEAT_MS,
      ...(this.options.leaseMs === undefined ? {} : { writeLeaseMs: this.options.leaseMs }),
    };
    const handle = this.watch(plan.name, await launchServer('broker', config, this.logDir, logName(plan.name)));
    const broker: Broker = { name: plan.name, room: plan.room, plan, config: { ...config, listen: handle.ready.endpoint }, handle };
    this.brokers.push(broker);
    return broker;
  }

  /** The endpoint a process in `fromRoom` dials to reach `target` in `toRoom`: a proxy in partition drills. */
  private async crossRoom(fromRoom: string, toRoom: string, what: string, target: string): Promise<string> {
    if (!this.options.partition) return target;
    // One proxy per room and destination, shared by every process of the room that dials it.
    const name = `${fromRoom}->${what}`;
    let endpoint = this.linkEndpoints.get(name);
    if (!endpoint) {
      endpoint = this.links.open(name, fromRoom, toRoom, target);
      this.linkEndpoints.set(name, endpoint);
    }
    return endpoint;
  }
}

function isRunning(handle: ServerHandle): boolean {
  return handle.child.exitCode === null && handle.child.signalCode === null;
}

function logName(name: string): string {
  return name.replace(/[/@]/g, '-');
}

function redisHostPort(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname || '127.0.0.1'}:${parsed.port || '6379'}`;
}

function withHostPort(url: string, hostPort: string): string {
  const parsed = new URL(url);
  const [host, port] = hostPort.split(':') as [string, string];
  parsed.hostname = host;
  parsed.port = port;
  return parsed.toString();
}
