import type { Metadata } from '@grpc/grpc-js';
import { Retrier, SILENT_LOGGER, parseConfig, validateGroupName, validateTopicName, type Logger, type RoomqError } from '@roomq/protocol';
import { RouteAssignmentSource, RouterAssignmentSource, type Assignment, type AssignmentSource } from './assignment-source.js';
import { ClientHeartbeat } from './client-heartbeat.js';
import { RoomObserver, requestMetadata, resolveIdentity } from './client-identity.js';
import { ServiceClients } from './grpc-clients.js';
import { OffsetTracker } from './offset-tracker.js';
import { pushConsumerOptionsSchema, type PushConsumerOptions, type ResolvedPushConsumerOptions } from './push-consumer-options.js';
import { AllQueuesAssignment, queueKey, type QueueAssignment } from './queue-assignment.js';
import { QueueConsumer, type QueueStats } from './queue-consumer.js';
import { GrpcQueueIo, type QueueIo } from './queue-io.js';
import { RouteServiceSource, type RouteSource } from './route-source.js';
import { RouteWatcher } from './route-watcher.js';
import { RouterClient } from './router-client.js';
import { isReadable, type QueueRef } from './topic-route.js';

/** close() waits at most this long for the router to take note that this consumer left its group. */
const LEAVE_TIMEOUT_MS = 1_000;

export type PushConsumerStatus = 'idle' | 'starting' | 'running' | 'closing' | 'closed';

/** A queue of this consumer's assignment. */
export interface AssignedQueue {
  topic: string;
  queueId: number;
  /** Broker group, e.g. `broker-a`. */
  broker: string;
  /** The instance read from, e.g. `broker-a/1@dc2`. */
  brokerName: string;
  room: string;
  endpoint: string;
  /** `grace`: just gained, waiting rebalanceGraceMs for the previous owner to commit; `active`: being consumed. */
  state: 'grace' | 'active';
}

/** Consumer counters for summaries; offsets per queue in `queues`. */
export interface PushConsumerStats {
  status: PushConsumerStatus;
  /** Messages received from brokers (queues given up since included). */
  received: number;
  /** Messages whose handler resolved (queues given up since included). */
  consumed: number;
  handlerFailures: number;
  /** Queues being consumed now. */
  queues: QueueStats[];
  /** The queues this consumer owns now, as the router assigned them. */
  assignment: AssignedQueue[];
  assignmentVersion: number;
  /** Live consumers of the group, as the router counted them at the last assignment. */
  members: number;
  /** Queues gained and given up through rebalancing since start. */
  queuesGained: number;
  queuesReleased: number;
  /** Successful heartbeats. */
  heartbeats: number;
  /** The router calls go to now. */
  router: string;
  /** Whether a Watch stream is pushing assignment changes now (else they arrive with the periodic refresh). */
  watching: boolean;
}

interface Gaining {
  queue: QueueRef;
  timer: NodeJS.Timeout;
}

/** Dependencies tests may replace. Naming `routeSource` or `assignment` makes the client compute its own assignment from routes. */
export interface PushConsumerDeps {
  routeSource?: RouteSource;
  queueIo?: QueueIo;
  assignment?: QueueAssignment;
  assignmentSource?: AssignmentSource;
}

/**
 * Consumes a topic for a group: the queues the router assigns to this consumer, each in queue order, queues
 * concurrently. It heartbeats to the router, follows assignment changes within about a second (pushed over
 * a Watch stream, polled as a fallback), gives up a lost queue by letting the handler in progress finish and
 * committing, and starts a gained queue from the group's committed offset after a short grace period.
 * Offsets are committed periodically, on rebalance and on close, and never move backwards. Delivery is at
 * least once: a message is consumed when its handler resolves; a failing handler gets it again after a backoff.
 *
 * ```ts
 * const consumer = new PushConsumer({ routers: ['127.0.0.1:9876'], group: 'billing', topic: 'orders', handler: async (m) => bill(m.body) });
 * await consumer.start();
 * // ...
 * await consumer.close();
 * ```
 */
export class PushConsumer {
  readonly clientId: string;
  readonly room: string;
  private readonly options: ResolvedPushConsumerOptions;
  private readonly logger: Logger;
  private readonly metadata: Metadata;
  private readonly clients = new ServiceClients();
  private readonly router: RouterClient;
  private readonly source: AssignmentSource;
  private readonly io: QueueIo;
  private readonly retrier: Retrier;
  private readonly rooms: RoomObserver;
  private readonly watcher: RouteWatcher | undefined;
  private readonly heartbeat: ClientHeartbeat | undefined;
  private readonly abort = new AbortController();
  private readonly consumers = new Map<string, QueueConsumer>();
  /** Gained queues in their grace period. */
  private readonly gaining = new Map<string, Gaining>();
  /** Offsets outlive the consumer of a queue, so a reassignment or endpoint change never rewinds them. */
  private readonly offsets = new Map<string, OffsetTracker>();
  /** The group epoch of the log each queue's position came from (see startQueue). */
  private readonly offsetEpochs = new Map<string, number>();
  /** Queues being stopped; a queue's next consumer starts only after the previous one stopped, keeping queue order. */
  private readonly stoppingQueues = new Map<string, Promise<void>>();
  /** Consumers being stopped, counted in stats until they are done. */
  private readonly retiring = new Set<QueueConsumer>();
  private readonly retired = { received: 0, consumed: 0, handlerFailures: 0 };
  private assignmentInfo = { version: 0, members: 0, gained: 0, released: 0 };
  /** The migration switch of the latest assignment (undefined: the source does not say). */
  private knownSwitch: number | undefined;
  private status: PushConsumerStatus = 'idle';
  private startPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;
  private commitTimer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private committing: Promise<void> | undefined;
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;
  private refreshFailing = false;

  constructor(options: PushConsumerOptions, deps: PushConsumerDeps = {}) {
    this.options = parseConfig(pushConsumerOptionsSchema, options, 'invalid push consumer options');
    validateGroupName(this.options.group);
    validateTopicName(this.options.topic);
    const identity = resolveIdentity(this.options);
    this.clientId = identity.clientId;
    this.room = identity.room;
    this.logger = (this.options.logger ?? SILENT_LOGGER).child({ component: 'push-consumer', room: this.room, group: this.options.group, topic: this.options.topic });
    this.metadata = requestMetadata(identity);
    this.rooms = new RoomObserver(this.room, this.logger);
    this.router = new RouterClient({ routers: this.options.routers, clients: this.clients, metadata: this.metadata, timeoutMs: this.options.requestTimeoutMs, logger: this.logger });
    this.retrier = new Retrier(this.options.retryBackoff);
    const clientSide = deps.routeSource !== undefined || deps.assignment !== undefined;
    this.source =
      deps.assignmentSource ??
      (clientSide ? new RouteAssignmentSource(deps.routeSource ?? new RouteServiceSource(this.router), deps.assignment ?? new AllQueuesAssignment(), this.clientId) : new RouterAssignmentSource(this.router));
    this.io =
      deps.queueIo ??
      new GrpcQueueIo({
        group: this.options.group,
        clients: this.clients,
        metadata: this.metadata,
        requestTimeoutMs: this.options.requestTimeoutMs,
        maxBatchMessages: this.options.maxBatchMessages,
        maxBatchBytes: this.options.maxBatchBytes,
      });
    if (deps.routeSource === undefined && deps.assignmentSource === undefined) {
      const { topic, group } = this.options;
      this.watcher = new RouteWatcher({
        router: this.router,
        clientId: this.clientId,
        retrier: this.retrier,
        logger: this.logger,
        onResync: () => this.refreshAssignment(),
        onEvent: (event) => {
          const topicMatches = !event.topic || event.topic === topic;
          if (event.kind === 'route' ? topicMatches : topicMatches && (!event.group || event.group === group)) this.refreshAssignment();
        },
      });
      this.watcher.setInterest([topic], [group]);
      this.heartbeat = new ClientHeartbeat({
        router: this.router,
        clientId: this.clientId,
        intervalMs: this.options.heartbeatIntervalMs,
        consumers: () => [{ group, topics: [topic] }],
        rooms: this.rooms,
        logger: this.logger,
      });
    }
  }

  /** Joins the group and starts consuming its assigned queues. Rejects (e.g. TOPIC_NOT_FOUND) without consuming anything; may be called again. */
  start(): Promise<void> {
    this.startPromise ??= this.doStart().catch((err: unknown) => {
      this.startPromise = undefined;
      this.heartbeat?.stop();
      if (this.status === 'starting') this.setStatus('idle');
      throw err;
    });
    return this.startPromise;
  }

  /** Stops reading, lets handlers in progress finish (up to closeTimeoutMs), commits offsets and closes. Idempotent. */
  close(): Promise<void> {
    this.closePromise ??= this.doClose();
    return this.closePromise;
  }

  stats(): PushConsumerStats {
    const queues = [...this.consumers.values()].map((c) => c.stats());
    let { received, consumed, handlerFailures } = this.retired;
    for (const q of [...queues, ...[...this.retiring].map((c) => c.stats())]) {
      received += q.received;
      consumed += q.consumed;
      handlerFailures += q.handlerFailures;
    }
    const assignment: AssignedQueue[] = [
      ...[...this.consumers.values()].map((c) => assignedQueue(c.queue, 'active')),
      ...[...this.gaining.values()].map((g) => assignedQueue(g.queue, 'grace')),
    ];
    return {
      status: this.status,
      received,
      consumed,
      handlerFailures,
      queues,
      assignment,
      assignmentVersion: this.assignmentInfo.version,
      members: this.assignmentInfo.members,
      queuesGained: this.assignmentInfo.gained,
      queuesReleased: this.assignmentInfo.released,
      heartbeats: this.heartbeat?.beats ?? 0,
      router: this.router.current(),
      watching: this.watcher?.connected ?? false,
    };
  }

  /** Commits every queue's consumed offset now (it also happens every commitIntervalMs, on rebalance and on close). */
  commit(): Promise<void> {
    // After the commit in progress, which may have taken its offsets before the latest messages were consumed.
    const next = (this.committing ?? Promise.resolve()).then(() => Promise.all([...this.consumers.values()].map((c) => c.commit()))).then(
      () => undefined,
      () => undefined,
    );
    this.committing = next;
    void next.then(() => {
      if (this.committing === next) this.committing = undefined;
    });
    return next;
  }

  // -------------------------------------------------------------------------------------------------------

  private async doStart(): Promise<void> {
    if (this.status !== 'idle') return;
    this.setStatus('starting');
    // Be a member before asking for an assignment, or the router has nothing to give us.
    await this.heartbeat?.start().catch((err: unknown) => this.logger.debug({ err }, 'first heartbeat failed; asking for the assignment anyway'));
    const assignment = await this.source.fetch(this.options.topic, this.options.group, this.abort.signal);
    if ((this.status as PushConsumerStatus) !== 'starting') return;
    this.applyAssignment(assignment);
    this.watcher?.start();
    this.refreshTimer = setInterval(() => this.refreshAssignment(), this.options.assignmentRefreshMs);
    this.refreshTimer.unref();
    this.commitTimer = setInterval(() => {
      if (!this.committing) void this.commit();
    }, this.options.commitIntervalMs);
    this.commitTimer.unref();
    this.setStatus('running');
  }

  private async doClose(): Promise<void> {
    if (this.status === 'closed') return;
    this.setStatus('closing');
    if (this.commitTimer) clearInterval(this.commitTimer);
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.watcher?.close();
    this.abort.abort();
    for (const g of this.gaining.values()) clearTimeout(g.timer);
    this.gaining.clear();
    const stopping = Promise.all([
      ...[...this.consumers.values()].map((c) => c.stop().catch((err: unknown) => this.logger.warn({ err }, 'stopping a queue failed'))),
      ...this.stoppingQueues.values(),
    ]);
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([stopping.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), this.options.closeTimeoutMs)))]);
    clearTimeout(timer);
    if (!finished) this.logger.warn({ closeTimeoutMs: this.options.closeTimeoutMs }, 'handlers still running at the close deadline; their messages will be delivered again');
    await this.committing;
    await this.commit();
    // Heartbeats stop only now: the router must not hand our queues over before their offsets are committed.
    await this.heartbeat?.leave(LEAVE_TIMEOUT_MS);
    this.clients.close();
    this.setStatus('closed');
  }

  private setStatus(status: PushConsumerStatus): void {
    if (this.status === status) return;
    this.logger.info({ from: this.status, to: status }, 'push consumer status');
    this.status = status;
  }

  /** Fetches the assignment and applies it; a request while one is on its way fetches once more after it. */
  private refreshAssignment(): void {
    if (this.status !== 'running' && this.status !== 'starting') return;
    if (this.refreshing) {
      this.refreshAgain = true;
      return;
    }
    this.refreshing = (async () => {
      do {
        this.refreshAgain = false;
        try {
          const assignment = await this.source.fetch(this.options.topic, this.options.group, this.abort.signal);
          if (this.refreshFailing) this.logger.info({}, 'assignment refresh works again');
          this.refreshFailing = false;
          this.applyAssignment(assignment);
        } catch (err) {
          if (this.status !== 'running' && this.status !== 'starting') return;
          if (!this.refreshFailing) this.logger.warn({ err }, 'assignment refresh failed; consuming goes on with the current assignment');
          this.refreshFailing = true;
        }
      } while (this.refreshAgain && (this.status === 'running' || this.status === 'starting'));
    })().finally(() => {
      this.refreshing = undefined;
    });
  }

  /**
   * Makes the consumed queues match the assignment: lost queues stop at once (the handler in progress
   * finishes, then the offset is committed), gained queues start after the grace period, queues whose
   * endpoint changed (a failover within their group) restart there with no grace.
   */
  private applyAssignment(assignment: Assignment): void {
    if (this.status === 'closing' || this.status === 'closed') return;
    const next = assignedByKey(assignment.queues);
    this.knownSwitch = assignment.migrationVersion;
    const changed = this.assignmentInfo.version !== assignment.version || this.assignmentInfo.members !== assignment.members;
    this.assignmentInfo.version = assignment.version;
    this.assignmentInfo.members = assignment.members;
    const moved = new Set<string>();
    for (const [key, consumer] of this.consumers) {
      const queue = next.get(key);
      if (queue && queue.endpoint === consumer.queue.endpoint) {
        consumer.setKnownSwitch(assignment.migrationVersion);
        consumer.setReadLimit(queue.readLimit);
        continue;
      }
      if (queue) moved.add(key);
      this.release(key, consumer, queue ? 'moved' : 'lost');
    }
    for (const [key, g] of this.gaining) {
      const queue = next.get(key);
      if (queue) {
        g.queue = queue;
        continue;
      }
      clearTimeout(g.timer);
      this.gaining.delete(key);
      this.logger.info({ broker: g.queue.broker, queueId: g.queue.queueId }, 'queue unassigned during its grace period');
    }
    // With no other live member there is no previous owner left to wait for.
    const graceMs = assignment.members > 1 ? this.options.rebalanceGraceMs : 0;
    for (const [key, queue] of next) {
      if (this.consumers.has(key) || this.gaining.has(key)) continue;
      if (moved.has(key) || graceMs === 0) {
        this.startQueue(key, queue, moved.has(key) ? 'moved' : 'gained');
        continue;
      }
      const timer = setTimeout(() => {
        const g = this.gaining.get(key);
        if (g?.timer !== timer) return;
        this.gaining.delete(key);
        this.startQueue(key, g.queue, 'gained');
      }, graceMs);
      timer.unref();
      this.gaining.set(key, { queue, timer });
      this.logger.debug({ broker: queue.broker, queueId: queue.queueId, graceMs }, 'queue gained; waiting for its previous owner to commit');
    }
    if (changed || moved.size > 0) {
      this.logger.info({ version: assignment.version, members: assignment.members, queues: next.size }, 'assignment applied');
    }
    if (next.size === 0) this.logger.debug({ members: assignment.members }, 'no queue assigned; waiting for an assignment change');
  }

  private startQueue(key: string, queue: QueueRef, reason: 'gained' | 'moved'): void {
    let offsets = this.offsets.get(key);
    const readEpoch = this.offsetEpochs.get(key);
    if (offsets && queue.epoch !== undefined && readEpoch !== undefined && queue.epoch > readEpoch) {
      // The queue is now served under a newer group epoch (a room was cut, or failed back). What this consumer
      // read in the older one may have been cut off the group's log, and the new epoch reuses those queue offsets
      // for other messages: resume from the group's committed offset there instead. At worst that redelivers what
      // was consumed but not yet committed (at-least-once); keeping our position could skip messages for good.
      this.logger.info({ broker: queue.broker, queueId: queue.queueId, epoch: queue.epoch, previousEpoch: readEpoch, position: offsets.consumedNext }, 'queue is served under a newer group epoch; resuming from the committed offset there');
      offsets = undefined;
    }
    if (queue.epoch !== undefined) this.offsetEpochs.set(key, queue.epoch);
    if (!offsets) {
      offsets = new OffsetTracker();
      this.offsets.set(key, offsets);
    }
    const consumer = new QueueConsumer(
      queue,
      this.io,
      {
        handler: this.options.handler,
        startFrom: this.options.startFrom,
        maxBufferedMessages: this.options.maxBufferedMessages,
        retrier: this.retrier,
        logger: this.logger.child({ broker: queue.broker, brokerName: queue.brokerName, queueRoom: queue.room, queueId: queue.queueId }),
        reportError: (err) => this.reportError(err),
        onNewerSwitch: () => this.refreshAssignment(),
      },
      offsets,
    );
    consumer.setKnownSwitch(this.knownSwitch);
    this.consumers.set(key, consumer);
    if (reason === 'gained') this.assignmentInfo.gained++;
    this.logger.info({ broker: queue.broker, brokerName: queue.brokerName, queueRoom: queue.room, queueId: queue.queueId, endpoint: queue.endpoint, reason }, 'consuming queue');
    const previous = this.stoppingQueues.get(key);
    if (previous) void previous.then(() => this.consumers.get(key) === consumer && consumer.start());
    else consumer.start();
  }

  /** Stops a queue's consumer at once; once the handler in progress finished, commits what it consumed. */
  private release(key: string, consumer: QueueConsumer, reason: 'lost' | 'moved'): void {
    this.consumers.delete(key);
    this.retiring.add(consumer);
    if (reason === 'lost') this.assignmentInfo.released++;
    this.logger.info({ broker: consumer.queue.broker, brokerName: consumer.queue.brokerName, queueId: consumer.queue.queueId, reason }, reason === 'lost' ? 'queue unassigned; releasing it' : 'queue moved to another endpoint');
    // Commit what is finished now, and again once the handler in progress is done: a hung handler then
    // costs the next owner one message again, not everything since the last periodic commit.
    const early = consumer.commit();
    const stopped = consumer
      .stop()
      .then(() => early)
      .then(() => consumer.commit())
      .catch((err: unknown) => this.logger.warn({ err }, 'stopping a queue failed'))
      .finally(() => {
        this.retiring.delete(consumer);
        const s = consumer.stats();
        this.retired.received += s.received;
        this.retired.consumed += s.consumed;
        this.retired.handlerFailures += s.handlerFailures;
        if (this.stoppingQueues.get(key) === stopped) this.stoppingQueues.delete(key);
      });
    this.stoppingQueues.set(key, stopped);
  }

  private reportError(err: RoomqError): void {
    if (this.options.onError) {
      try {
        this.options.onError(err);
      } catch (callbackError) {
        this.logger.error({ err: callbackError }, 'onError callback threw');
      }
    } else {
      this.logger.error({ err, code: err.code, details: err.details }, err.message);
    }
  }
}

/** The assignment by queue identity; a queue listed twice (several members of its group) is read from a readable one, the lowest member id first. */
function assignedByKey(queues: readonly QueueRef[]): Map<string, QueueRef> {
  const out = new Map<string, QueueRef>();
  for (const q of queues) {
    const key = queueKey(q);
    const current = out.get(key);
    if (!current || (isReadable(q) && (!isReadable(current) || q.brokerId < current.brokerId))) out.set(key, q);
  }
  return out;
}

function assignedQueue(q: QueueRef, state: AssignedQueue['state']): AssignedQueue {
  return { topic: q.topic, queueId: q.queueId, broker: q.broker, brokerName: q.brokerName, room: q.room, endpoint: q.endpoint, state };
}
