import { Server } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { MAX_DATA_FRAME_BYTES, RoomqError, dataProtocol, dataServiceDefinition, listenSniffing, messagingServiceDefinition, type BrokerStateMsg, type DataProtocol, type SniffingListener } from '@roomq/protocol';
import { MessageStore } from '../store/index.js';
import { brokerName, type BrokerConfig } from './broker-config.js';
import { dataHandlers, dataService, type DataServiceDeps } from './data-service.js';
import { Ingest } from './ingest.js';
import { messagingService } from './messaging-service.js';
import { GroupControlView } from './group-control-view.js';
import { Leadership } from './leadership.js';
import { Quarantine } from './quarantine.js';
import { ReplicationRole } from './replication-role.js';
import { RouterLink } from './router-link.js';
import { WriteLease } from './write-lease.js';
import { TopicTable } from './topic-table.js';

export type BrokerStatus = 'new' | 'starting' | 'ready' | 'failed' | 'stopping' | 'closed';

/**
 * gRPC limits sized so a maximal message fits (the producer batches well below this): the data path's frame
 * limit, so both ways into the broker take the same publish.
 */
const MAX_GRPC_MESSAGE_BYTES = MAX_DATA_FRAME_BYTES;
/** How long close() lets open calls finish before cutting them. */
const SHUTDOWN_GRACE_MS = 2000;

export interface BrokerInfo {
  name: string;
  endpoint: string;
  port: number;
}

/**
 * One broker process: its store, the client-facing services and its registration with the routers.
 * `start()` and `close()` are idempotent; `status` changes only through `setStatus`, which logs it.
 */
export class Broker {
  readonly name: string;
  private statusValue: BrokerStatus = 'new';
  private statusReason = '';
  private store: MessageStore | undefined;
  private server: Server | undefined;
  private listener: SniffingListener | undefined;
  private dataPath: DataProtocol | undefined;
  private link: RouterLink | undefined;
  private replication: ReplicationRole | undefined;
  private leadership: Leadership | undefined;
  private quarantine: Quarantine | undefined;
  private readonly control = new GroupControlView();
  private readonly lease: WriteLease;
  private starting: Promise<BrokerInfo> | undefined;
  private closing: Promise<void> | undefined;
  private endpointValue = '';
  private readonly startedAtMs = Date.now();
  /** Aborted when close() starts, so long-lived streams (Telemetry) end instead of holding shutdown open. */
  private readonly closingSignal = new AbortController();
  private readonly logger: Logger;

  constructor(
    private readonly config: BrokerConfig,
    logger: Logger,
  ) {
    this.name = brokerName(config);
    this.logger = logger.child({ component: 'broker', broker: this.name, room: config.room, group: config.group });
    this.lease = new WriteLease(config.writeLeaseMs);
  }

  get status(): BrokerStatus {
    return this.statusValue;
  }

  get endpoint(): string {
    return this.endpointValue;
  }

  start(): Promise<BrokerInfo> {
    this.starting ??= this.doStart();
    return this.starting;
  }

  private async doStart(): Promise<BrokerInfo> {
    this.setStatus('starting');
    const config = this.config;
    const store = await MessageStore.open(
      {
        dataDir: config.dataDir,
        flushMode: config.flushMode,
        flushIntervalMs: config.flushIntervalMs,
        segmentSizeBytes: config.segmentSizeBytes,
        preallocateBytes: config.preallocateBytes,
        tailCacheBytes: config.tailCacheBytes,
        readCacheBytes: config.readCacheBytes,
        replicaDirectWrites: config.replicaDirectWrites,
      },
      { logger: this.logger.child({ component: 'store' }) },
    );
    this.store = store;
    const topics = new TopicTable((topic) => (this.link ? this.link.getTopic(topic) : Promise.resolve(undefined)));
    const quarantine = new Quarantine(config.dataDir, this.logger.child({ component: 'quarantine' }));
    await quarantine.load();
    this.quarantine = quarantine;
    const replication = new ReplicationRole(config, store, quarantine, this.logger);
    this.replication = replication;
    const leadership = new Leadership(config, store, replication, this.control, this.lease, this.logger.child({ component: 'leadership' }), () => this.link?.beatNow());
    this.leadership = leadership;
    const ingest = new Ingest(
      store,
      topics,
      { maxBodyBytes: config.maxBodyBytes, maxPropertiesBytes: config.maxPropertiesBytes },
      () => this.writeRefusal(),
      (endOffset) => replication.replicated(endOffset),
    );

    const server = new Server({
      'grpc.max_receive_message_length': MAX_GRPC_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_GRPC_MESSAGE_BYTES,
    });
    const [host, portText] = splitHostPort(config.listen);
    const advertisedHost = config.advertisedHost ?? (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);
    const dataDeps: DataServiceDeps = {
      store,
      ingest,
      topics,
      logger: this.logger,
      subscribeBatchMessages: config.subscribeBatchMessages,
      subscribeBatchBytes: config.subscribeBatchBytes,
      maxPendingFramesPerStream: config.maxPendingFramesPerStream,
    };
    // One port: gRPC, chain replication for replicas and the SDK's data path (listenSniffing tells them apart).
    const dataPath = dataProtocol(dataHandlers(dataDeps));
    this.dataPath = dataPath;
    const listener = await listenSniffing(host, Number(portText), server, [replication.protocol(), dataPath]).catch((err: Error) => {
      throw wrapBindError(err, config.listen);
    });
    this.listener = listener;
    const port = listener.port;
    this.endpointValue = `${advertisedHost}:${port}`;
    server.addService(messagingServiceDefinition(), messagingService({
        store,
        ingest,
        topics,
        logger: this.logger,
        endpoint: this.endpointValue,
        maxBodyBytes: config.maxBodyBytes,
        closing: this.closingSignal.signal,
        replicated: (endOffset) => replication.replicated(endOffset),
        commitRefusal: () => leadership.commitRefusal(),
      }));
    server.addService(dataServiceDefinition(), dataService(dataDeps));
    this.server = server;
    await leadership.reconcile();

    this.link = new RouterLink(
      config.routers,
      () => this.stateMessage(),
      {
        onTopics: (list) => topics.replaceAll(list),
        onReply: (reply, sentAtMs) => {
          this.lease.grant(reply.router_room || 'unknown', sentAtMs, Number(reply.lease_ms ?? 0), reply.control_healthy === true);
          if (reply.control_known && this.control.apply(reply.rooms ?? [], reply.group ?? undefined, reply.members ?? [])) void leadership.reconcile();
        },
      },
      this.logger,
      config.heartbeatIntervalMs,
    );
    this.refreshStatus();
    if (this.statusValue === 'starting') this.setStatus('ready');
    await this.link.start();
    // The first replies told this member its role: take it up before saying the broker is listening.
    await leadership.reconcile();
    this.logger.info({ endpoint: this.endpointValue, flushMode: config.flushMode, dataDir: config.dataDir }, 'broker listening');
    return { name: this.name, endpoint: this.endpointValue, port };
  }

  /** Why writes are refused now: storage failure, shutdown, or the member's role. */
  private writeRefusal(): RoomqError | undefined {
    this.refreshStatus();
    if (this.statusValue === 'failed') {
      return this.store?.failure ?? new RoomqError('STORAGE_FAILED', `broker ${this.name} is failed: ${this.statusReason}`, { details: { broker: this.name } });
    }
    if (this.statusValue !== 'ready') {
      return new RoomqError('UNAVAILABLE', `broker ${this.name} is ${this.statusValue}; send to another broker`, { details: { broker: this.name } });
    }
    return this.leadership?.writeRefusal();
  }

  /** A store that stopped accepting writes turns the broker `failed`, once, and routers hear of it at once. */
  private refreshStatus(): void {
    const store = this.store;
    if (store?.state === 'failed' && this.statusValue !== 'failed' && this.statusValue !== 'stopping' && this.statusValue !== 'closed') {
      this.setStatus('failed', store.failure?.message ?? 'storage failed');
      this.link?.beatNow();
    }
  }

  private setStatus(next: BrokerStatus, reason = ''): void {
    if (next === this.statusValue) return;
    const previous = this.statusValue;
    this.statusValue = next;
    this.statusReason = reason;
    const level = next === 'failed' ? 'error' : 'info';
    this.logger[level]({ from: previous, to: next, reason: reason || undefined }, `broker ${next}`);
  }

  stateMessage(): BrokerStateMsg {
    this.refreshStatus();
    const store = this.store;
    const stats = store?.stats();
    const fence = this.leadership?.fence();
    const quarantined = this.quarantine?.totals();
    const perTopic = new Map<string, { queues: number; total: number }>();
    for (const q of store?.queues() ?? []) {
      const entry = perTopic.get(q.topic) ?? { queues: 0, total: 0 };
      entry.queues = Math.max(entry.queues, q.queueId + 1);
      entry.total += q.endOffset;
      perTopic.set(q.topic, entry);
    }
    return {
      identity: {
        name: this.name,
        group: this.config.group,
        member_id: this.config.memberId,
        room: this.config.room,
        role: this.leadership?.actingRole() ?? this.config.role,
        endpoint: this.endpointValue,
      },
      status: this.statusValue,
      status_reason: this.statusReason,
      topics: [...perTopic].map(([topic, v]) => ({ topic, queue_count: v.queues, max_offsets_total: v.total })),
      log_end_offset: stats?.logEndOffset ?? 0,
      flushed_offset: stats?.flushedOffset ?? 0,
      started_at_ms: this.startedAtMs,
      pid: process.pid,
      writable: this.writeRefusal() === undefined,
      flush_mode: this.config.flushMode,
      corrupt_ranges: stats?.corruptRanges.map((r) => ({ start: r.start, end: r.end, reason: r.reason })) ?? [],
      replication_mode: this.replication?.mode ?? this.config.replicationMode,
      upstream: this.replication?.upstream ?? '',
      replication: this.replication?.lagView() ?? [],
      epoch: store?.currentEpoch() ?? 1,
      configured_role: this.config.role,
      fence: fence?.fence ?? 'not-leader',
      fence_reason: fence?.reason ?? '',
      quarantined_bytes: quarantined?.bytes ?? 0,
      quarantined_records: quarantined?.records ?? 0,
    };
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    if (this.starting) await this.starting.catch(() => undefined);
    this.setStatus('stopping');
    this.closingSignal.abort();
    // Tell routers first, so new sends go elsewhere while open calls finish.
    this.link?.beatNow();
    await this.listener?.close();
    const server = this.server;
    if (server) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, SHUTDOWN_GRACE_MS);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    try {
      this.link?.close();
    } catch (err) {
      this.logger.warn({ err }, 'closing router link failed');
    }
    // Producers and consumers on the data path reconnect elsewhere or later, as after a gRPC shutdown.
    this.dataPath?.closeAll();
    try {
      await this.replication?.close();
    } catch (err) {
      this.logger.warn({ err }, 'closing replication failed');
    }
    try {
      await this.store?.close();
    } catch (err) {
      this.logger.error({ err }, 'closing store failed');
    }
    this.setStatus('closed');
  }
}

export function splitHostPort(address: string): [string, string] {
  const at = address.lastIndexOf(':');
  return [address.slice(0, at), address.slice(at + 1)];
}

function wrapBindError(err: Error, listen: string): RoomqError {
  return new RoomqError('CONFIG_INVALID', `cannot listen on ${listen}: ${err.message}; pick a free port (listen in the config, or port 0)`, {
    details: { field: 'listen' },
    cause: err,
  });
}
