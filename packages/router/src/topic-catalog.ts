import { formatTopicMode, isRoomqError, parseTopicMode, RoomqError, validateTopicName, type TopicMode } from '@roomq/protocol';
import type { Logger } from 'pino';
import type { ControlStore, CreateTopicOutcome, TopicConfig } from './control-store.js';

/** Largest queue count a topic may have on one broker. */
export const MAX_QUEUES_PER_BROKER = 1024;

export interface TopicCatalogOptions {
  store: ControlStore;
  autoCreateTopics: boolean;
  defaultQueuesPerBroker: number;
  /** Mode of topics created without one, and of auto-created topics. */
  defaultTopicMode: TopicMode;
  logger: Logger;
  now?: () => number;
}

/**
 * Topic rules on top of the control store: name checks, defaults, idempotent creation, auto-creation. Reads come
 * from the store's cache and keep working while the store is degraded; changes are then refused with a
 * retriable UNAVAILABLE naming the store.
 */
export class TopicCatalog {
  private readonly store: ControlStore;
  private readonly logger: Logger;
  private readonly now: () => number;
  readonly autoCreateTopics: boolean;
  readonly defaultQueuesPerBroker: number;
  readonly defaultTopicMode: TopicMode;

  constructor(options: TopicCatalogOptions) {
    this.store = options.store;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.autoCreateTopics = options.autoCreateTopics;
    this.defaultQueuesPerBroker = options.defaultQueuesPerBroker;
    this.defaultTopicMode = options.defaultTopicMode;
  }

  list(): Promise<TopicConfig[]> {
    return this.store.listTopics();
  }

  /**
   * Creates a topic, or confirms it exists with these settings (`created: false`). `queuesPerBroker` 0 or
   * undefined means the router default for a new topic and "whatever it has" for an existing one; so does an
   * empty or undefined `modeText` (`active-active` or `home:<room>`). Throws INVALID_TOPIC, BAD_REQUEST (queue
   * count, mode), TOPIC_EXISTS (same name, other settings) or UNAVAILABLE (control store unreachable).
   */
  async create(name: string, queuesPerBroker?: number, source = 'admin', modeText?: string): Promise<CreateTopicOutcome> {
    validateTopicName(name);
    const requested = queuesPerBroker === undefined || queuesPerBroker === 0 ? undefined : queuesPerBroker;
    if (requested !== undefined && (!Number.isInteger(requested) || requested < 1 || requested > MAX_QUEUES_PER_BROKER)) {
      throw new RoomqError('BAD_REQUEST', `queues per broker must be 1-${MAX_QUEUES_PER_BROKER} (or 0 for the router default), got ${requested}`, {
        details: { topic: name, field: 'queues_per_broker' },
      });
    }
    const requestedMode = modeText === undefined || modeText === '' ? undefined : parseTopicMode(modeText);
    this.assertWritable(name);
    let outcome: CreateTopicOutcome;
    try {
      outcome = await this.store.createTopicIfAbsent({
        name,
        queuesPerBroker: requested ?? this.defaultQueuesPerBroker,
        mode: requestedMode ?? this.defaultTopicMode,
        createdAtMs: this.now(),
      });
    } catch (err) {
      if (isRoomqError(err) && err.code === 'UNAVAILABLE') throw this.unavailable(name, err);
      throw err;
    }
    if (!outcome.created && requested !== undefined && outcome.topic.queuesPerBroker !== requested) {
      throw new RoomqError(
        'TOPIC_EXISTS',
        `topic ${JSON.stringify(name)} already exists with ${outcome.topic.queuesPerBroker} queues per broker, not ${requested}; queue counts cannot be changed, so use the topic as it is or pick another name`,
        { details: { topic: name } },
      );
    }
    if (!outcome.created && requestedMode !== undefined && formatTopicMode(outcome.topic.mode) !== formatTopicMode(requestedMode)) {
      throw new RoomqError(
        'TOPIC_EXISTS',
        `topic ${JSON.stringify(name)} already exists in mode ${formatTopicMode(outcome.topic.mode)}, not ${formatTopicMode(requestedMode)}; CreateTopic does not change modes, a topic moves between modes by migration`,
        { details: { topic: name } },
      );
    }
    if (outcome.created) {
      this.logger.info({ topic: name, queuesPerBroker: outcome.topic.queuesPerBroker, mode: formatTopicMode(outcome.topic.mode), source }, 'topic created');
    }
    return outcome;
  }

  /**
   * The topic's config. When it is missing: created if the caller asks for it and the router allows
   * auto-creation, otherwise TOPIC_NOT_FOUND naming the fix.
   */
  async require(name: string, createIfMissing: boolean, source: string): Promise<TopicConfig> {
    validateTopicName(name);
    const topic = (await this.store.getTopic(name)) ?? (await this.store.lookupTopic(name));
    if (topic) return topic;
    if (createIfMissing && this.autoCreateTopics) return (await this.create(name, undefined, source)).topic;
    throw new RoomqError(
      'TOPIC_NOT_FOUND',
      `topic ${JSON.stringify(name)} does not exist; create it with \`roomq topic create ${name}\`, or start the router with autoCreateTopics enabled`,
      { details: { topic: name } },
    );
  }

  /** Refuses changes up front while the store is degraded, with the store's name and what to do. */
  private assertWritable(topic: string): void {
    const health = this.store.health();
    if (health.state === 'degraded') throw this.unavailable(topic, undefined, health.reason);
  }

  private unavailable(topic: string, cause?: unknown, reason?: string): RoomqError {
    const health = this.store.health();
    const why = reason ?? (health.state === 'degraded' ? health.reason : cause instanceof Error ? cause.message : 'unreachable');
    return new RoomqError(
      'UNAVAILABLE',
      `control store ${this.store.description} is unavailable (${why}); topic changes are refused until it is back, so retry then. Routes keep being served from the last known state.`,
      { cause, retriable: true, details: { topic } },
    );
  }
}
