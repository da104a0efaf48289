import { join } from 'node:path';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import {
  adminServiceDefinition,
  formatHostPort,
  messagingServiceDefinition,
  registryServiceDefinition,
  RoomqError,
  routeServiceDefinition,
  toRoomqError,
} from '@roomq/protocol';
import { pino, type Logger } from 'pino';
import { adminServiceImpl } from './admin-service.js';
import { BrokerRegistry } from './broker-registry.js';
import type { BrokerView } from './broker-state.js';
import { ClientRegistry, type ClientView } from './client-registry.js';
import type { ControlStoreConfig } from './control-store-config.js';
import { createControlStore } from './control-store-factory.js';
import type { ControlStore } from './control-store.js';
import { ControlSync } from './control-sync.js';
import { ControlCache } from './control-cache.js';
import { HearingClock } from './hearing-clock.js';
import { routableBrokers } from './routable-brokers.js';
import { CONTROL_FILE_NAME } from './file-control-store.js';
import { LocalGroupMembers } from './group-members.js';
import { messagingServiceImpl } from './messaging-service.js';
import { registryServiceImpl } from './registry-service.js';
import { ReplicaReads } from './replica-reads.js';
import { RoomDirectory } from './room-directory.js';
import { RouteEvents } from './route-events.js';
import { routeServiceImpl } from './route-service.js';
import type { RouterContext } from './router-context.js';
import { CLIENT_MEMBER_TIMEOUT_MS, parseRouterOptions, type ResolvedRouterOptions, type RouterOptions } from './router-options.js';
import { SpillTracker, type SpillStats } from './spill-tracker.js';
import { TopicCatalog } from './topic-catalog.js';
import type { WatchStream } from './watch-stream.js';

/** idle → starting → running → closing → closed; a failed start ends in `failed` (resources released). */
export type RouterStatus = 'idle' | 'starting' | 'running' | 'closing' | 'closed' | 'failed';

export interface RouterAddress {
  /** The port the server is bound to (the real one when the option was 0). */
  port: number;
}

/** How long close() lets in-flight calls finish before cutting them. */
const CLOSE_GRACE_MS = 2000;
/** Clients silent this long are forgotten (the official client heartbeats every 10 s). */
const CLIENT_FORGET_MS = 120_000;
/** Upper bound on remembered clients. */
const MAX_TRACKED_CLIENTS = 100_000;
/** How often the router registers itself, publishes its group members and checks the store's health. */
const CONTROL_SYNC_INTERVAL_MS = 1000;
/** Upper bound on the sweep period, so brokers and consumers going silent become events within this. */
const MAX_SWEEP_INTERVAL_MS = 250;

/**
 * The clock broker silences are measured on. It ticks often against the timeout, so an ordinary late timer still
 * counts in full; of a longer stall it counts a quarter of the timeout at most (250 ms at most).
 */
function hearingClockFor(brokerTimeoutMs: number): HearingClock {
  const tickMs = Math.max(5, Math.min(50, Math.floor(brokerTimeoutMs / 8)));
  return new HearingClock({ tickMs, maxGapMs: Math.max(tickMs * 2, Math.min(250, Math.floor(brokerTimeoutMs / 4))) });
}

/**
 * The roomq router: brokers register and heartbeat with it, clients ask it for routes (it is the RocketMQ
 * "access point"), operators manage topics through it. One gRPC server carries RegistryService, AdminService,
 * RouteService (room-aware routes, assignments and change hints for the roomq SDK) and
 * apache.rocketmq.v2.MessagingService. The control state (topics, routers, group members) lives in a
 * ControlStore shared by the routers of every room (an embedded file by default, Redis across rooms).
 */
export class Router {
  readonly options: ResolvedRouterOptions;
  private readonly logger: Logger;
  private readonly brokerRegistry: BrokerRegistry;
  private readonly hearing: HearingClock;
  private readonly replicaReads: ReplicaReads;
  private readonly clientRegistry: ClientRegistry;
  private readonly events = new RouteEvents();
  private readonly spills: SpillTracker;
  private readonly members = new LocalGroupMembers({ timeoutMs: CLIENT_MEMBER_TIMEOUT_MS });
  private readonly directory: RoomDirectory;
  private readonly watches = new Set<WatchStream>();
  private store: ControlStore | undefined;
  private controlCache: ControlCache | undefined;
  private unsubscribeControl: (() => void) | undefined;
  private sync: ControlSync | undefined;
  private currentStatus: RouterStatus = 'idle';
  private startPromise: Promise<RouterAddress> | undefined;
  private closePromise: Promise<void> | undefined;
  private server: Server | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private syncRunning = false;
  private boundPort: number | undefined;

  /** Throws RoomqError CONFIG_INVALID naming the bad option. */
  constructor(options: RouterOptions) {
    this.options = parseRouterOptions(options);
    const { name, room } = this.options;
    this.logger = (this.options.logger ?? pino({ level: 'silent' })).child({ component: 'router', router: name, room });
    this.replicaReads = new ReplicaReads(this.logger);
    this.hearing = hearingClockFor(this.options.brokerTimeoutMs);
    this.brokerRegistry = new BrokerRegistry({
      brokerTimeoutMs: this.options.brokerTimeoutMs,
      logger: this.logger,
      hearingNow: () => this.hearing.now(),
      onTransition: () => {
        // A broker transition can change any topic's route and any group's queues.
        this.replicaReads.update(this.routable());
        this.publishBrokerChange();
      },
      onHeartbeat: () => {
        // A replica overtaking another moves reads without any transition.
        if (this.replicaReads.update(this.routable())) this.publishBrokerChange();
      },
    });
    this.clientRegistry = new ClientRegistry({ forgetAfterMs: CLIENT_FORGET_MS, maxClients: MAX_TRACKED_CLIENTS });
    this.spills = new SpillTracker(this.logger);
    const mode = this.options.defaultTopicMode;
    this.directory = new RoomDirectory({
      routerRoom: room,
      configuredRooms: [...this.options.rooms, ...(mode.kind === 'home' ? [mode.room] : [])],
      roomByCidr: this.options.roomByCidr,
      brokers: this.brokerRegistry,
    });
  }

  get status(): RouterStatus {
    return this.currentStatus;
  }

  /** The bound port while running. */
  get port(): number | undefined {
    return this.boundPort;
  }

  /** `host:port` clients should dial: advertisedHost (or the listen host) and the bound port. */
  get endpoint(): string | undefined {
    if (this.boundPort === undefined) return undefined;
    return formatHostPort({ host: this.options.advertisedHost ?? this.options.host, port: this.boundPort });
  }

  /** Live brokers that routes may use, after room cuts and group leadership (routable-brokers.ts). */
  private routable(): BrokerView[] {
    const alive = this.brokerRegistry.alive();
    return this.controlCache ? routableBrokers(alive, this.controlCache.current) : alive;
  }

  /**
   * Read holds brought up to date with liveness now. Liveness is computed on every read, so a route can show a
   * replica before any heartbeat or sweep has told ReplicaReads that the master died; updating here makes sure
   * that a replica some client was routed to is remembered as the group's reader, and held after the master
   * returns, however quickly it returns.
   */
  private currentReadHolds(): ReadonlyMap<string, string> {
    if (this.replicaReads.update(this.routable())) this.publishBrokerChange();
    return this.replicaReads.holds;
  }

  /** Brokers known since start, alive or not. */
  brokers(): BrokerView[] {
    return this.brokerRegistry.list();
  }

  /** RocketMQ clients that heartbeated recently. */
  clients(): ClientView[] {
    return this.clientRegistry.list();
  }

  /** How often producers were routed away from their preferred room (also logged at each transition). */
  spillStats(): SpillStats {
    return this.spills.stats();
  }

  /** The router-wide route version: grows with every change that can alter routes or assignments. */
  get routeVersion(): number {
    return this.events.version;
  }

  /** The control store's name (e.g. `memory`, `redis 127.0.0.1:6379`) once started. */
  get controlStoreDescription(): string | undefined {
    return this.store?.description;
  }

  /** Opens the control store and starts serving. Idempotent; rejects after close(). */
  start(): Promise<RouterAddress> {
    if (this.closePromise) return Promise.reject(new RoomqError('CLOSED', 'this router was closed; create a new Router to start again'));
    this.startPromise ??= this.doStart();
    return this.startPromise;
  }

  /** Stops serving and closes the store. Idempotent; waits for a start in progress. */
  close(): Promise<void> {
    this.closePromise ??= this.doClose();
    return this.closePromise;
  }

  private async doStart(): Promise<RouterAddress> {
    this.setStatus('starting');
    try {
      const store = this.options.store ?? (await createControlStore(this.storeConfig(), this.logger, { routerRoom: this.options.room }));
      this.store = store;
      await store.open();
      const controlCache = new ControlCache(store, this.logger);
      this.controlCache = controlCache;
      await controlCache.refresh();
      // A cut or a promotion changes every route: re-read rooms and groups, then tell Watch streams at once.
      this.unsubscribeControl = store.onChange((change) => {
        if (change.kind !== 'rooms' && change.kind !== 'groups' && change.kind !== 'reload') return;
        void controlCache.refresh().then((changed) => {
          if (!changed) return;
          this.replicaReads.update(this.routable());
          this.publishBrokerChange();
        });
      });
      const topics = new TopicCatalog({
        store,
        autoCreateTopics: this.options.autoCreateTopics,
        defaultQueuesPerBroker: this.options.defaultQueuesPerBroker,
        defaultTopicMode: this.options.defaultTopicMode,
        logger: this.logger,
      });
      const sync = new ControlSync({
        store,
        routerName: this.options.name,
        routerRoom: this.options.room,
        endpoint: () => this.endpoint,
        events: this.events,
        members: this.members,
        directory: this.directory,
        logger: this.logger,
      });
      this.sync = sync;
      const server = new Server();
      this.server = server;
      const ctx: RouterContext = {
        name: this.options.name,
        room: this.options.room,
        heartbeatIntervalMs: this.options.heartbeatIntervalMs,
        topics,
        brokers: this.brokerRegistry,
        routable: () => this.routable(),
        control: () => controlCache.current,
        readHolds: () => this.currentReadHolds(),
        clients: this.clientRegistry,
        store,
        directory: this.directory,
        events: this.events,
        spills: this.spills,
        members: this.members,
        membersChanged: (groups) => void sync.publishGroups(groups),
        watches: this.watches,
        logger: this.logger,
      };
      server.addService(registryServiceDefinition(), registryServiceImpl(ctx));
      server.addService(adminServiceDefinition(), adminServiceImpl(ctx));
      server.addService(routeServiceDefinition(), routeServiceImpl(ctx));
      server.addService(messagingServiceDefinition(), messagingServiceImpl(ctx));
      const listen = formatHostPort({ host: this.options.host, port: this.options.port });
      this.boundPort = await bind(server, listen);
      sync.start();
      await this.syncTick();
      this.hearing.start();
      const sweepEveryMs = Math.max(10, Math.min(MAX_SWEEP_INTERVAL_MS, Math.floor(this.options.brokerTimeoutMs / 4)));
      this.sweepTimer = setInterval(() => this.sweep(), sweepEveryMs);
      this.sweepTimer.unref();
      this.syncTimer = setInterval(() => void this.syncTick(), CONTROL_SYNC_INTERVAL_MS);
      this.syncTimer.unref();
      this.setStatus('running', {
        listen: formatHostPort({ host: this.options.host, port: this.boundPort }),
        endpoint: this.endpoint,
        store: store.description,
        storeHealth: store.health().state,
      });
      return { port: this.boundPort };
    } catch (err) {
      await this.release();
      this.setStatus('failed', { err });
      throw toRoomqError(err, 'INTERNAL', 'router start failed');
    }
  }

  /** The configured store, with the file store's path defaulting to `<dataDir>/control.json`. */
  private storeConfig(): ControlStoreConfig {
    const config = this.options.controlStore ?? { kind: 'file' };
    if (config.kind === 'file' && config.path === undefined) return { kind: 'file', path: join(this.options.dataDir!, CONTROL_FILE_NAME) };
    return config;
  }

  /** One control-sync round at a time; a slow store makes rounds skip, never pile up. */
  private async syncTick(): Promise<void> {
    if (this.syncRunning || !this.sync) return;
    this.syncRunning = true;
    try {
      await this.sync.tick();
    } catch (err) {
      this.logger.warn({ err }, 'control sync failed');
    } finally {
      this.syncRunning = false;
    }
  }

  private async doClose(): Promise<void> {
    this.unsubscribeControl?.();
    if (this.startPromise) await this.startPromise.catch(() => undefined);
    if (this.currentStatus === 'failed' || this.currentStatus === 'idle') {
      this.setStatus('closed');
      return;
    }
    this.setStatus('closing');
    await this.release();
    this.setStatus('closed');
  }

  /** Frees whatever start() acquired; each step is guarded so one failure does not leak the rest. */
  private async release(): Promise<void> {
    this.hearing.stop();
    if (this.sweepTimer) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = undefined;
    }
    if (this.syncTimer) {
      clearInterval(this.syncTimer);
      this.syncTimer = undefined;
    }
    // Watch streams never end by themselves; end them so the server can shut down gracefully.
    for (const watch of [...this.watches]) watch.end();
    const sync = this.sync;
    this.sync = undefined;
    if (sync) {
      try {
        await sync.stop();
      } catch (err) {
        this.logger.warn({ err }, 'control sync stop failed');
      }
    }
    const server = this.server;
    this.server = undefined;
    if (server) {
      try {
        await shutdown(server, CLOSE_GRACE_MS);
      } catch (err) {
        this.logger.warn({ err }, 'gRPC server shutdown failed');
      }
    }
    const store = this.store;
    if (store) {
      try {
        await store.close();
      } catch (err) {
        this.logger.warn({ err, store: store.description }, 'control store close failed');
      }
    }
    this.boundPort = undefined;
  }

  private publishBrokerChange(): void {
    this.events.publish({ kind: 'route' });
    this.events.publish({ kind: 'assignment' });
  }

  private sweep(): void {
    try {
      this.brokerRegistry.sweep();
      // A read hold reaching its cap is no broker event; a heartbeat usually notices first, this bounds it.
      if (this.replicaReads.update(this.routable())) this.publishBrokerChange();
      this.clientRegistry.sweep();
      const left = this.members.sweep();
      if (left.length > 0) {
        this.logger.info({ groups: left }, 'consumers left their groups (no ClientHeartbeat)');
        void this.sync?.publishGroups(left);
      }
    } catch (err) {
      this.logger.error({ err }, 'registry sweep failed');
    }
  }

  private setStatus(status: RouterStatus, fields: Record<string, unknown> = {}): void {
    if (status === this.currentStatus) return;
    const previous = this.currentStatus;
    this.currentStatus = status;
    const level = status === 'failed' ? 'error' : 'info';
    this.logger[level]({ ...fields, status, previous }, `router ${status}`);
  }
}

function bind(server: Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, port) => {
      if (err) {
        reject(new RoomqError('UNAVAILABLE', `router cannot listen on ${address}: ${err.message}; pick a free port or stop what is using it`, { cause: err, retriable: false }));
      } else {
        resolve(port);
      }
    });
  });
}

function shutdown(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    timer.unref();
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
