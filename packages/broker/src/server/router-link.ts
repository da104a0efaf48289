import { credentials, type Client } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  FAST_RECONNECT_CHANNEL_OPTIONS,
  RoomqError,
  fromGrpcError,
  fromWireStatus,
  registryServiceClient,
  type BrokerHeartbeatReplyMsg,
  type BrokerStateMsg,
  type GetTopicReplyMsg,
  type TopicConfigMsg,
} from '@roomq/protocol';

type Unary<Req, Res> = (req: Req, options: { deadline: number }, cb: (err: Error | null, res: Res) => void) => void;

interface RegistryClient extends Client {
  BrokerHeartbeat: Unary<{ state: BrokerStateMsg }, BrokerHeartbeatReplyMsg>;
  GetTopic: Unary<{ name: string; create_if_missing: boolean }, GetTopicReplyMsg>;
}

const CALL_TIMEOUT_MS = 2000;

export interface RouterLinkEvents {
  /** A router's full topic list, from a heartbeat reply. */
  onTopics(topics: TopicConfigMsg[]): void;
  /** A router's reply, with its lease and control state; `sentAtMs` is when the heartbeat left. */
  onReply(reply: BrokerHeartbeatReplyMsg, sentAtMs: number): void;
}

interface RouterEntry {
  address: string;
  client: RegistryClient;
  reachable: boolean | undefined;
  timer: NodeJS.Timeout | undefined;
  /** A heartbeat to this router is on its way. */
  beating: Promise<void> | undefined;
  /** Another beat was asked for while one was on its way. */
  again: boolean;
}

/**
 * The broker's side of registration: heartbeats carrying the broker's whole state to every router, and topic
 * lookups. A router that does not answer is logged once when it goes silent and once when it returns.
 *
 * Each router gets its own heartbeat loop: a router behind a partitioned link (whose calls hang until their
 * deadline) must never delay the heartbeats to the routers that answer, or those would think this broker dead.
 */
export class RouterLink {
  private readonly clients: RouterEntry[];
  private intervalMs: number;
  private closed = false;

  constructor(
    addresses: readonly string[],
    private readonly state: () => BrokerStateMsg,
    private readonly events: RouterLinkEvents,
    private readonly logger: Logger,
    intervalMs: number,
  ) {
    const Ctor = registryServiceClient();
    this.clients = addresses.map((address) => ({
      address,
      client: new Ctor(address, credentials.createInsecure(), FAST_RECONNECT_CHANNEL_OPTIONS) as unknown as RegistryClient,
      reachable: undefined,
      timer: undefined,
      beating: undefined,
      again: false,
    }));
    this.intervalMs = intervalMs;
  }

  /** Sends the first heartbeats and keeps sending them; resolves after the first round, answered or not. */
  async start(): Promise<void> {
    await Promise.all(this.clients.map((entry) => this.beat(entry)));
    for (const entry of this.clients) this.schedule(entry);
  }

  /** Sends a heartbeat now, e.g. right after a state change, instead of waiting for the timer. */
  beatNow(): void {
    for (const entry of this.clients) void this.beat(entry);
  }

  private schedule(entry: RouterEntry): void {
    if (this.closed) return;
    entry.timer = setTimeout(() => {
      void this.beat(entry).finally(() => this.schedule(entry));
    }, this.intervalMs);
    entry.timer.unref();
  }

  /**
   * One heartbeat to one router. While one is on its way, a request for another (a state change) is sent right
   * after it, so the router hears the new state without beats piling up behind a router that hangs.
   */
  private beat(entry: RouterEntry): Promise<void> {
    if (entry.beating) {
      entry.again = true;
      return entry.beating;
    }
    entry.beating = this.beatOnce(entry).finally(() => {
      entry.beating = undefined;
      if (entry.again && !this.closed) {
        entry.again = false;
        void this.beat(entry);
      }
    });
    return entry.beating;
  }

  private async beatOnce(entry: RouterEntry): Promise<void> {
    const state = this.state();
    try {
      const sentAtMs = Date.now();
      const reply = await call(entry.client.BrokerHeartbeat.bind(entry.client), { state });
      const err = fromWireStatus(reply.status, { endpoint: entry.address });
      if (err) throw err;
      if (entry.reachable !== true) this.logger.info({ router: entry.address }, 'registered with router');
      entry.reachable = true;
      if (reply.heartbeat_interval_ms && reply.heartbeat_interval_ms > 0) this.intervalMs = reply.heartbeat_interval_ms;
      this.events.onTopics(reply.topics ?? []);
      this.events.onReply(reply, sentAtMs);
    } catch (err) {
      if (entry.reachable !== false) {
        this.logger.warn({ router: entry.address, err: fromGrpcError(err, { endpoint: entry.address }).message }, 'router not answering heartbeats');
      }
      entry.reachable = false;
    }
  }

  /** Asks the routers for a topic, creating it where they allow; undefined if none knows it. */
  async getTopic(name: string): Promise<TopicConfigMsg | undefined> {
    let lastError: RoomqError | undefined;
    for (const entry of this.clients) {
      try {
        const reply = await call(entry.client.GetTopic.bind(entry.client), { name, create_if_missing: true });
        const err = fromWireStatus(reply.status, { endpoint: entry.address, topic: name });
        if (err?.code === 'TOPIC_NOT_FOUND') return undefined;
        if (err) throw err;
        if (reply.topic) return reply.topic;
      } catch (err) {
        lastError = fromGrpcError(err, { endpoint: entry.address, topic: name });
      }
    }
    if (lastError) {
      throw new RoomqError('UNAVAILABLE', `cannot look topic ${name} up: no router answered (${lastError.message})`, {
        details: { topic: name },
        cause: lastError,
      });
    }
    return undefined;
  }

  reachableRouters(): string[] {
    return this.clients.filter((c) => c.reachable === true).map((c) => c.address);
  }

  close(): void {
    this.closed = true;
    for (const entry of this.clients) {
      clearTimeout(entry.timer);
      entry.client.close();
    }
  }
}

function call<Req, Res>(fn: Unary<Req, Res>, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    fn(req, { deadline: Date.now() + CALL_TIMEOUT_MS }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}
