import type { Metadata } from '@grpc/grpc-js';
import {
  DEFAULT_MAX_PROPERTIES_BYTES,
  MIGRATION_SWITCH_PROPERTY,
  MessageIdGenerator,
  Retrier,
  RoomqError,
  SILENT_LOGGER,
  messageSectionSize,
  parseConfig,
  toRoomqError,
  validateMessage,
  validateTopicName,
  type Logger,
  type MessageFields,
  type PublishResultEntry,
} from '@roomq/protocol';
import { BrokerHealth } from './broker-health.js';
import { ClientHeartbeat } from './client-heartbeat.js';
import { RoomObserver, requestMetadata, resolveIdentity, type ClientIdentity } from './client-identity.js';
import { ServiceClients } from './grpc-clients.js';
import { InFlightLimiter } from './in-flight-limiter.js';
import { producerOptionsSchema, type ProducerOptions, type ResolvedProducerOptions } from './producer-options.js';
import { PublishLane, type LaneCallbacks, type LaneMessage } from './publish-lane.js';
import { QueueSelector } from './queue-selector.js';
import { RouteCache } from './route-cache.js';
import { RouteServiceSource, type RouteSource } from './route-source.js';
import { RouteWatcher } from './route-watcher.js';
import { RouterClient } from './router-client.js';
import type { QueueRef, TopicRoute } from './topic-route.js';

/** A message to send. */
export interface OutgoingMessage {
  topic: string;
  body: Buffer | string;
  keys?: string[];
  tag?: string;
  properties?: Record<string, string>;
  /** Messages with the same key go to the same queue (and so keep their order) while the route is unchanged and no retry moves one elsewhere. */
  shardingKey?: string;
}

/** Where a message was stored. */
export interface SendReceipt {
  messageId: string;
  topic: string;
  queueId: number;
  queueOffset: number;
  physicalOffset: number;
  /** Broker group name, e.g. `broker-a`. */
  broker: string;
  /** The broker instance that stored it, e.g. `broker-a/0@dc1`. */
  brokerName: string;
  /** Room of that instance; empty when the route did not say (a custom RouteSource). */
  room: string;
  /** `host:port` of the broker that stored it. */
  endpoint: string;
}

export interface SendOptions {
  /** Gives up waiting for in-flight capacity; a message already on the wire is not recalled. */
  signal?: AbortSignal;
}

export type ProducerStatus = 'idle' | 'ready' | 'closing' | 'closed';

/** Producer counters for summaries. */
export interface ProducerStats {
  status: ProducerStatus;
  sent: number;
  failed: number;
  retried: number;
  framesSent: number;
  inFlight: number;
  /** Messages stored in another room than the preferred one because their topic's route spilled. */
  spills: number;
  /** Times a topic's route started spilling (each is logged at warn once). */
  spillTransitions: number;
  /** Topics whose route spills now. */
  spilledTopics: string[];
  /** The router calls go to now. */
  router: string;
  /** Whether a Watch stream is pushing route changes now (else changes arrive with the periodic refresh). */
  watching: boolean;
}

/** One send() or sendMany() call: one promise however many messages it carries. */
class SendRequest {
  readonly promise: Promise<SendReceipt | SendReceipt[]>;
  readonly receipts: SendReceipt[];
  remaining: number;
  settled = false;
  private resolve!: (value: SendReceipt | SendReceipt[]) => void;
  private reject!: (err: RoomqError) => void;

  constructor(
    count: number,
    private readonly many: boolean,
  ) {
    this.remaining = count;
    this.receipts = many ? new Array<SendReceipt>(count) : [];
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  complete(index: number, receipt: SendReceipt): void {
    if (this.settled) return;
    if (!this.many) {
      this.settled = true;
      this.resolve(receipt);
      return;
    }
    this.receipts[index] = receipt;
    if (--this.remaining === 0) {
      this.settled = true;
      this.resolve(this.receipts);
    }
  }

  fail(err: RoomqError): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(err);
  }
}

/** A message from send() until it settles; kept across attempts, so its message ID never changes. */
interface Pending extends LaneMessage {
  fields: MessageFields;
  queueId: number;
  broker: string;
  brokerName: string;
  room: string;
  /** The route spilled when this attempt was routed. */
  spilled: boolean;
  endpoint: string;
  sizeBytes: number;
  shardingKey: string | undefined;
  attempt: number;
  tried: Set<string> | undefined;
  request: SendRequest;
  index: number;
  /** The migration switch of the route this attempt was dispatched by; undefined while not on the wire. */
  migrationVersion: number | undefined;
}

interface RetryBatch {
  timer: NodeJS.Timeout;
  messages: Pending[];
}

/**
 * Publishes messages over roomq's streaming fast path. Messages bound for one broker share frames on one
 * long-lived stream; the number of unacknowledged messages is bounded (send() waits when it is reached);
 * retriable failures move a message to another broker with the same message ID.
 *
 * ```ts
 * const producer = new Producer({ routers: ['127.0.0.1:9876'] });
 * await producer.start();
 * const receipt = await producer.send({ topic: 'orders', body: JSON.stringify(order), keys: [order.id] });
 * await producer.close();
 * ```
 */
export class Producer {
  readonly clientId: string;
  readonly room: string;
  private readonly options: ResolvedProducerOptions;
  private readonly logger: Logger;
  private readonly metadata: Metadata;
  private readonly clients = new ServiceClients();
  private readonly routes: RouteCache;
  private readonly router: RouterClient;
  private readonly watcher: RouteWatcher | undefined;
  private readonly heartbeat: ClientHeartbeat | undefined;
  private readonly rooms: RoomObserver;
  private readonly spilledTopics = new Set<string>();
  private readonly selector = new QueueSelector();
  private readonly limiter: InFlightLimiter;
  private readonly retrier: Retrier;
  private readonly health: BrokerHealth;
  private readonly ids = new MessageIdGenerator();
  private readonly lanes = new Map<string, PublishLane<Pending>>();
  private readonly retrying = new Set<RetryBatch>();
  private readonly validTopics = new Set<string>();
  private readonly laneCallbacks: LaneCallbacks<Pending>;
  private status: ProducerStatus = 'idle';
  private startPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;
  private drained: (() => void) | undefined;
  private counters = { sent: 0, failed: 0, retried: 0, spills: 0, spillTransitions: 0 };
  /** topic → migration switch → messages dispatched by a route of that switch and not settled yet. */
  private readonly inFlightBySwitch = new Map<string, Map<number, number>>();

  /** `deps.routeSource` replaces the routers (tests); then nothing watches routes or heartbeats. */
  constructor(options: ProducerOptions, deps: { routeSource?: RouteSource } = {}) {
    this.options = parseConfig(producerOptionsSchema, options, 'invalid producer options');
    const identity: ClientIdentity = resolveIdentity(this.options);
    this.clientId = identity.clientId;
    this.room = identity.room;
    this.logger = (this.options.logger ?? SILENT_LOGGER).child({ component: 'producer', room: this.room, clientId: this.clientId });
    this.metadata = requestMetadata(identity);
    this.rooms = new RoomObserver(this.room, this.logger);
    this.router = new RouterClient({ routers: this.options.routers, clients: this.clients, metadata: this.metadata, timeoutMs: this.options.requestTimeoutMs, logger: this.logger });
    this.retrier = new Retrier(this.options.retryBackoff);
    this.routes = new RouteCache(deps.routeSource ?? new RouteServiceSource(this.router, this.options.producerGroup), {
      refreshMs: this.options.routeRefreshMs,
      logger: this.logger,
      onRoute: (route, previous) => this.onRoute(route, previous),
      onTopicAdded: () => this.watcher?.setInterest(this.routes.topics()),
    });
    if (!deps.routeSource) {
      this.watcher = new RouteWatcher({
        router: this.router,
        clientId: this.clientId,
        retrier: this.retrier,
        logger: this.logger,
        onResync: () => {
          for (const topic of this.routes.topics()) this.routes.invalidate(topic);
        },
        onEvent: (event) => {
          if (event.kind !== 'route') return;
          if (event.topic) this.routes.invalidate(event.topic);
          else for (const topic of this.routes.topics()) this.routes.invalidate(topic);
        },
      });
      this.heartbeat = new ClientHeartbeat({
        router: this.router,
        clientId: this.clientId,
        intervalMs: this.options.heartbeatIntervalMs,
        consumers: () => [],
        producer: () => ({ group: this.options.producerGroup ?? '', topics: this.routes.topics().map((topic) => ({ topic, settled_version: this.settledSwitch(topic) })) }),
        rooms: this.rooms,
        logger: this.logger,
      });
    }
    this.limiter = new InFlightLimiter(this.options.maxInFlightMessages);
    this.health = new BrokerHealth(this.options.brokerIsolationMs);
    this.laneCallbacks = {
      acked: (messages, results, lane) => this.onAcked(messages, results, lane),
      failed: (messages, err) => this.onFailed(messages, err),
    };
  }

  /** Loads the routes of `options.topics` and starts route refreshes. Idempotent; send() calls it if you did not. */
  start(): Promise<void> {
    this.startPromise ??= this.doStart();
    return this.startPromise;
  }

  /**
   * Sends one message; resolves once the broker stored it. Rejects with a RoomqError: at once for invalid
   * messages (nothing reaches the wire), after `maxAttempts` for retriable failures.
   */
  send(message: OutgoingMessage, options?: SendOptions): Promise<SendReceipt> {
    const closed = this.closedError();
    if (closed) return Promise.reject(closed);
    if (this.status === 'idle') void this.start().catch(() => undefined);
    let fields: MessageFields;
    try {
      fields = this.prepare(message);
    } catch (err) {
      return Promise.reject(err);
    }
    const request = new SendRequest(1, false);
    const pending = this.newPending(fields, message.shardingKey, request, 0);
    if (this.limiter.tryAcquire()) {
      this.route(pending);
    } else {
      this.limiter.acquire(options?.signal).then(
        () => this.route(pending),
        (err: unknown) => request.fail(toRoomqError(err)),
      );
    }
    return request.promise as Promise<SendReceipt>;
  }

  /**
   * Sends several messages with one promise; resolves with their receipts in order. Every message is
   * validated before any is sent. Rejects with the first permanent failure; messages sent before it may be stored.
   */
  async sendMany(messages: readonly OutgoingMessage[], options?: SendOptions): Promise<SendReceipt[]> {
    const closed = this.closedError();
    if (closed) throw closed;
    if (messages.length === 0) return [];
    if (this.status === 'idle') void this.start().catch(() => undefined);
    const fields = messages.map((m) => this.prepare(m));
    const request = new SendRequest(messages.length, true);
    void this.feed(messages, fields, request, options?.signal);
    return request.promise as Promise<SendReceipt[]>;
  }

  /** Stops taking sends, waits up to `closeTimeoutMs` for in-flight ones, then closes streams. Idempotent. */
  close(): Promise<void> {
    this.closePromise ??= this.doClose();
    return this.closePromise;
  }

  /**
   * The migration switch this producer has settled on for `topic`: its route follows it and no message sent by
   * an older switch's route is still in flight. Routers wait for every producer to settle before they draw the
   * barrier consumers drain to, so a key's messages by the old route are all below it.
   */
  settledSwitch(topic: string): number {
    let settled = this.routes.peek(topic)?.migrationVersion ?? 0;
    for (const [version, count] of this.inFlightBySwitch.get(topic) ?? []) if (count > 0 && version < settled) settled = version;
    return settled;
  }

  stats(): ProducerStats {
    let framesSent = 0;
    for (const lane of this.lanes.values()) framesSent += lane.framesSent;
    return {
      status: this.status,
      ...this.counters,
      framesSent,
      inFlight: this.limiter.inFlight,
      spilledTopics: [...this.spilledTopics],
      router: this.router.current(),
      watching: this.watcher?.connected ?? false,
    };
  }

  // -------------------------------------------------------------------------------------------------------

  private async doStart(): Promise<void> {
    if (this.status !== 'idle') return;
    this.setStatus('ready');
    this.routes.start();
    this.watcher?.setInterest(this.options.topics);
    this.watcher?.start();
    this.heartbeat?.start().catch(() => undefined);
    await Promise.all(this.options.topics.map((topic) => this.routes.get(topic)));
  }

  private async doClose(): Promise<void> {
    if (this.status === 'closed') return;
    this.setStatus('closing');
    this.limiter.close(new RoomqError('CLOSED', 'the producer was closed while this send waited for capacity'));
    if (this.limiter.inFlight > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => (this.drained = resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, this.options.closeTimeoutMs))),
      ]);
      clearTimeout(timer);
    }
    const abandoned = new RoomqError('CLOSED', `the producer closed before the broker acknowledged (closeTimeoutMs ${this.options.closeTimeoutMs}); the message may or may not be stored`);
    for (const batch of this.retrying) {
      clearTimeout(batch.timer);
      for (const m of batch.messages) this.settleFailure(m, abandoned);
    }
    this.retrying.clear();
    for (const lane of this.lanes.values()) {
      try {
        lane.close(abandoned);
      } catch (err) {
        this.logger.warn({ err, endpoint: lane.endpoint }, 'closing a publish stream failed');
      }
    }
    this.lanes.clear();
    this.routes.close();
    this.watcher?.close();
    this.heartbeat?.close();
    this.clients.close();
    this.setStatus('closed');
  }

  private setStatus(status: ProducerStatus): void {
    if (this.status === status) return;
    this.logger.info({ from: this.status, to: status }, 'producer status');
    this.status = status;
  }

  private closedError(): RoomqError | undefined {
    if (this.status === 'closing' || this.status === 'closed') return new RoomqError('CLOSED', 'the producer is closed; create a new Producer to send again');
    return undefined;
  }

  /** Validates and converts a message; throws the error the caller should see, before anything is sent. */
  private prepare(message: OutgoingMessage): MessageFields {
    const { topic } = message;
    if (!this.validTopics.has(topic)) {
      validateTopicName(topic);
      if (this.validTopics.size < 10_000) this.validTopics.add(topic);
    }
    const body = typeof message.body === 'string' ? Buffer.from(message.body) : message.body;
    if (!Buffer.isBuffer(body)) throw new RoomqError('BAD_REQUEST', 'message body must be a Buffer or a string', { details: { topic, field: 'body' } });
    if (body.length > this.options.maxBodyBytes) {
      throw new RoomqError('BODY_TOO_LARGE', `message body is ${body.length} bytes, over the limit of ${this.options.maxBodyBytes}; split the payload, or raise the producer's maxBodyBytes option and the brokers' maxBodyBytes`, {
        details: { topic, field: 'body', sizeBytes: body.length },
      });
    }
    const fields: MessageFields = {
      topic,
      messageId: this.ids.next(),
      tag: message.tag ?? '',
      keys: message.keys ?? [],
      properties: message.properties ?? {},
      body,
      bornTimestampMs: Date.now(),
    };
    if (message.tag !== undefined || message.keys !== undefined || message.properties !== undefined) {
      let propertiesBytes = 2;
      for (const name in fields.properties) {
        const value = fields.properties[name];
        if (name.length === 0 || typeof value !== 'string') {
          throw new RoomqError('INVALID_PROPERTY', `property ${JSON.stringify(name)} must have a non-empty name and a string value`, { details: { topic, field: 'properties' } });
        }
        propertiesBytes += 4 + Buffer.byteLength(name) + Buffer.byteLength(value);
      }
      validateMessage(
        { topic, messageId: fields.messageId, tag: fields.tag, keys: [...fields.keys], propertiesBytes, bodyLength: body.length },
        { maxBodyBytes: this.options.maxBodyBytes, maxPropertiesBytes: DEFAULT_MAX_PROPERTIES_BYTES },
      );
    }
    return fields;
  }

  private newPending(fields: MessageFields, shardingKey: string | undefined, request: SendRequest, index: number): Pending {
    return { fields, queueId: 0, broker: '', brokerName: '', room: '', spilled: false, endpoint: '', sizeBytes: messageSectionSize(fields) + 8, shardingKey, attempt: 1, tried: undefined, request, index, migrationVersion: undefined };
  }

  /** Hands sendMany's messages over as permits free up, in order; waits only when the in-flight bound is reached. */
  private async feed(messages: readonly OutgoingMessage[], fields: MessageFields[], request: SendRequest, signal?: AbortSignal): Promise<void> {
    for (let i = 0; i < fields.length; i++) {
      if (request.settled) return;
      if (!this.limiter.tryAcquire()) {
        try {
          await this.limiter.acquire(signal);
        } catch (err) {
          request.fail(toRoomqError(err));
          return;
        }
        if (request.settled) {
          this.limiter.release();
          this.onSettled();
          return;
        }
      }
      this.route(this.newPending(fields[i]!, messages[i]!.shardingKey, request, i));
    }
  }

  /** Finds the message a queue (loading the route if needed) and puts it in that broker's lane. */
  private route(m: Pending): void {
    const route = this.routes.peek(m.fields.topic);
    if (route) {
      this.dispatch(m, route);
      return;
    }
    this.routes.get(m.fields.topic).then(
      (r) => this.dispatch(m, r),
      (err: unknown) => this.onFailed([m], toRoomqError(err)),
    );
  }

  private dispatch(m: Pending, route: TopicRoute): void {
    if (this.status === 'closed') {
      this.settleFailure(m, new RoomqError('CLOSED', 'the producer closed before this message was sent'));
      return;
    }
    const queue: QueueRef | undefined = this.selector.select(route, { shardingKey: m.shardingKey, avoid: m.tried, isolated: this.health.isolated() });
    if (!queue) {
      this.onFailed(
        [m],
        new RoomqError('NO_ROUTE', `topic ${route.topic} has no writable queue in the route; create it (roomq topic create) or check that its brokers are writable`, {
          details: { topic: route.topic },
          retriable: true,
        }),
      );
      return;
    }
    const switchSeq = route.migrationVersion ?? 0;
    if (switchSeq > 0 || m.fields.properties[MIGRATION_SWITCH_PROPERTY] !== undefined) {
      // A migrating topic: say which switch routed this message, so a consumer that has not yet seen that
      // switch's read limits holds it (a retry re-stamps it with the route it is sent by now).
      m.fields = { ...m.fields, properties: { ...m.fields.properties, [MIGRATION_SWITCH_PROPERTY]: String(switchSeq) } };
    }
    m.queueId = queue.queueId;
    m.broker = queue.broker;
    m.brokerName = queue.brokerName;
    m.room = queue.room;
    m.spilled = route.spilled ?? false;
    m.endpoint = queue.endpoint;
    this.countInFlight(m, route.migrationVersion ?? 0);
    this.lane(queue.endpoint).enqueue(m);
  }

  /** `version` undefined: the message left the wire (acknowledged or failed). */
  private countInFlight(m: Pending, version: number | undefined): void {
    const topic = m.fields.topic;
    if (m.migrationVersion !== undefined) {
      const counts = this.inFlightBySwitch.get(topic);
      const left = (counts?.get(m.migrationVersion) ?? 1) - 1;
      if (left > 0) counts!.set(m.migrationVersion, left);
      else counts?.delete(m.migrationVersion);
    }
    m.migrationVersion = version;
    if (version === undefined) return;
    let counts = this.inFlightBySwitch.get(topic);
    if (!counts) this.inFlightBySwitch.set(topic, (counts = new Map()));
    counts.set(version, (counts.get(version) ?? 0) + 1);
  }

  /**
   * A new route for a topic: new messages follow it at once (frames in flight finish where they are). Spilling
   * to another room is logged once per transition, not per message.
   */
  private onRoute(route: TopicRoute, previous: TopicRoute | undefined): void {
    this.rooms.observe(route.clientRoom);
    const { topic } = route;
    const preferredRoom = route.preferredRoom ?? route.clientRoom ?? this.room;
    if (route.spilled && !this.spilledTopics.has(topic)) {
      this.spilledTopics.add(topic);
      this.counters.spillTransitions++;
      const rooms = [...new Set(this.selector.writableQueues(route).map((q) => q.room))].sort();
      const to = rooms.join(', ') || 'none';
      this.logger.warn({ topic, room: preferredRoom, toRooms: rooms, mode: route.mode }, `no writable queue for topic ${topic} in room ${preferredRoom}; sending to room ${to}`);
    } else if (!route.spilled && this.spilledTopics.delete(topic)) {
      this.logger.info({ topic, room: preferredRoom, mode: route.mode }, `topic ${topic} has writable queues in room ${preferredRoom} again; sending there`);
    }
    if (previous) this.retireLanes();
  }

  /** Closes idle streams to brokers that no route of this producer names any more. */
  private retireLanes(): void {
    const inUse = new Set<string>();
    for (const topic of this.routes.topics()) for (const q of this.routes.peek(topic)?.queues ?? []) inUse.add(q.endpoint);
    for (const [endpoint, lane] of this.lanes) {
      if (inUse.has(endpoint) || !lane.idle) continue;
      this.lanes.delete(endpoint);
      lane.close();
      this.clients.forget(endpoint);
      this.logger.debug({ endpoint }, 'closed the publish stream of a broker that left the routes');
    }
  }

  private lane(endpoint: string): PublishLane<Pending> {
    let lane = this.lanes.get(endpoint);
    if (!lane) {
      lane = new PublishLane<Pending>(
        {
          endpoint,
          limits: { maxMessages: this.options.batchMaxMessages, maxBytes: this.options.batchMaxBytes },
          maxFramesInFlight: this.options.maxFramesInFlight,
          ackTimeoutMs: this.options.sendTimeoutMs,
          logger: this.logger,
        },
        this.laneCallbacks,
      );
      this.lanes.set(endpoint, lane);
    }
    return lane;
  }

  private onAcked(messages: Pending[], results: PublishResultEntry[], lane: PublishLane<Pending>): void {
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      const r = results[i]!;
      this.countInFlight(m, undefined);
      this.counters.sent++;
      if (m.spilled) this.counters.spills++;
      this.limiter.release();
      m.request.complete(m.index, {
        messageId: m.fields.messageId,
        topic: m.fields.topic,
        queueId: r.queueId,
        queueOffset: r.queueOffset,
        physicalOffset: r.physicalOffset,
        broker: m.broker,
        brokerName: m.brokerName,
        room: m.room,
        endpoint: lane.endpoint,
      });
    }
    this.onSettled();
  }

  /** Retries what may be retried (on another broker, after a backoff, with a fresh route); fails the rest. */
  private onFailed(messages: Pending[], err: RoomqError): void {
    const retry: Pending[] = [];
    let brokerFailed = false;
    for (const m of messages) {
      this.countInFlight(m, undefined);
      if (m.request.settled) {
        this.limiter.release();
        continue;
      }
      if (m.broker) brokerFailed = true;
      if (this.status !== 'closed' && this.retrier.shouldRetry(err, m.attempt, this.options.maxAttempts)) retry.push(m);
      else this.settleFailure(m, err, false);
    }
    const broker = messages[0]?.broker;
    if (brokerFailed && broker && err.retriable) this.health.isolate(broker);
    this.logger.debug({ code: err.code, broker, messages: messages.length, retrying: retry.length }, 'send attempt failed');
    if (retry.length > 0) this.scheduleRetry(retry, err);
    this.onSettled();
  }

  private scheduleRetry(messages: Pending[], err: RoomqError): void {
    let attempt = Number.MAX_SAFE_INTEGER;
    for (const m of messages) attempt = Math.min(attempt, m.attempt);
    const batch: RetryBatch = { messages, timer: setTimeout(() => this.retryNow(batch), this.retrier.delayMs(attempt)) };
    this.retrying.add(batch);
    this.counters.retried += messages.length;
    this.logger.info({ code: err.code, broker: messages[0]!.broker, messages: messages.length, attempt }, 'retrying on another broker');
  }

  private retryNow(batch: RetryBatch): void {
    this.retrying.delete(batch);
    const topics = new Set(batch.messages.map((m) => m.fields.topic));
    const refreshed = [...topics].map((topic) => this.routes.refresh(topic).catch((err: unknown) => this.logger.warn({ topic, err }, 'route refresh before retry failed')));
    void Promise.all(refreshed).then(() => {
      for (const m of batch.messages) {
        if (m.broker) (m.tried ??= new Set()).add(m.broker);
        m.attempt++;
        m.broker = '';
        this.route(m);
      }
    });
  }

  private settleFailure(m: Pending, err: RoomqError, notify = true): void {
    this.counters.failed++;
    this.limiter.release();
    m.request.fail(err);
    if (notify) this.onSettled();
  }

  private onSettled(): void {
    if (this.drained && this.limiter.inFlight === 0) {
      const drained = this.drained;
      this.drained = undefined;
      drained();
    }
  }
}
