import type { ClientHeartbeatReplyMsg, ConsumerGroupInterestMsg, Logger, ProducerTopicMsg } from '@roomq/protocol';
import type { RoomObserver } from './client-identity.js';
import type { RouterClient } from './router-client.js';

export interface ClientHeartbeatOptions {
  router: RouterClient;
  clientId: string;
  /** Our wish; a router asking for a shorter interval gets it. */
  intervalMs: number;
  /** Groups and topics this client consumes, asked at every beat (empty for producers). */
  consumers: () => ConsumerGroupInterestMsg[];
  /** Producers: their group and, per topic, the migration switch they settled on. */
  producer?: () => { group: string; topics: ProducerTopicMsg[] };
  rooms: RoomObserver;
  logger: Logger;
}

/**
 * RouteService.ClientHeartbeat on a fixed beat. A router counts a consumer that missed about three beats as
 * gone and gives its queues to others, so beats never overlap and a failure is retried at the next beat
 * (on the next router, through RouterClient) rather than after a backoff.
 */
export class ClientHeartbeat {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private active = false;
  private closed = false;
  private failing = false;
  private intervalMs: number;
  /** Successful beats, for stats and tests. */
  beats = 0;

  constructor(private readonly options: ClientHeartbeatOptions) {
    this.intervalMs = options.intervalMs;
  }

  /** Beats now and then every interval; rejects when the first beat reached no router (the beats go on). */
  start(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.active) return this.running ?? Promise.resolve();
    this.active = true;
    return this.beat();
  }

  /** Stops beating until start() is called again. */
  stop(): void {
    this.active = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Sends one beat now (joining one in progress); resolves when it is done, rejects when no router took it. */
  beat(): Promise<void> {
    if (!this.active) return Promise.resolve();
    if (this.running) return this.running;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const running = this.send().finally(() => {
      this.running = undefined;
      if (this.active) {
        this.timer = setTimeout(() => void this.beat().catch(() => undefined), this.intervalMs);
        this.timer.unref();
      }
    });
    this.running = running;
    return running;
  }

  close(): void {
    this.closed = true;
    this.stop();
  }

  /**
   * One last beat naming no group, so the router hands this client's queues over now instead of after it
   * missed three beats. Best effort: bounded by `timeoutMs`, failures ignored (the router times us out then).
   */
  async leave(timeoutMs: number): Promise<void> {
    this.close();
    try {
      await this.options.router.call<ClientHeartbeatReplyMsg>('ClientHeartbeat', { client_id: this.options.clientId, consumers: [] }, {}, AbortSignal.timeout(timeoutMs));
    } catch (err) {
      this.options.logger.debug({ err }, 'leaving heartbeat failed; the router will time this client out');
    }
  }

  private async send(): Promise<void> {
    try {
      const producer = this.options.producer?.();
      const request = { client_id: this.options.clientId, consumers: this.options.consumers(), ...(producer ? { producer_group: producer.group, producer_topics: producer.topics } : {}) };
      const reply = await this.options.router.call<ClientHeartbeatReplyMsg>('ClientHeartbeat', request, {});
      this.beats++;
      if (this.failing) this.options.logger.info({ router: this.options.router.current() }, 'heartbeats reach a router again');
      this.failing = false;
      this.options.rooms.observe(reply.client_room);
      const asked = reply.heartbeat_interval_ms ?? 0;
      this.intervalMs = asked > 0 ? Math.min(asked, this.options.intervalMs) : this.options.intervalMs;
    } catch (err) {
      if (!this.failing) this.options.logger.warn({ err }, 'heartbeat failed; consuming goes on with the current assignment, and the router may give it to others');
      this.failing = true;
      throw err;
    }
  }
}
