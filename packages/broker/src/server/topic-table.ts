import { RoomqError, type TopicConfigMsg } from '@roomq/protocol';

/** Looks a topic up at the routers (creating it there when they allow); undefined when it does not exist. */
export type TopicResolver = (topic: string) => Promise<TopicConfigMsg | undefined>;

/** How long a "no such topic" answer is trusted before asking a router again. */
const NEGATIVE_TTL_MS = 1000;

/**
 * The topics this broker serves and their queue counts, as the routers know them. Filled from heartbeat
 * replies; a topic not yet seen is looked up once (single flight) before a request for it is refused.
 */
export class TopicTable {
  private readonly topics = new Map<string, TopicConfigMsg>();
  private readonly missing = new Map<string, number>();
  private readonly inflight = new Map<string, Promise<TopicConfigMsg | undefined>>();

  constructor(private readonly resolve: TopicResolver) {}

  /** Replaces the table with a router's full list. */
  replaceAll(list: readonly TopicConfigMsg[]): void {
    for (const topic of list) {
      this.topics.set(topic.name, topic);
      this.missing.delete(topic.name);
    }
  }

  get(topic: string): TopicConfigMsg | undefined {
    return this.topics.get(topic);
  }

  list(): TopicConfigMsg[] {
    return [...this.topics.values()];
  }

  /** The topic's config, or TOPIC_NOT_FOUND with the command that fixes it. */
  async require(topic: string): Promise<TopicConfigMsg> {
    const known = this.topics.get(topic);
    if (known) return known;
    const deniedAt = this.missing.get(topic);
    if (deniedAt === undefined || Date.now() - deniedAt > NEGATIVE_TTL_MS) {
      let pending = this.inflight.get(topic);
      if (!pending) {
        pending = this.resolve(topic).finally(() => this.inflight.delete(topic));
        this.inflight.set(topic, pending);
      }
      const found = await pending;
      if (found) {
        this.topics.set(topic, found);
        this.missing.delete(topic);
        return found;
      }
      this.missing.set(topic, Date.now());
    }
    throw new RoomqError('TOPIC_NOT_FOUND', `topic ${topic} does not exist; create it with \`roomq topic create ${topic}\` (or enable autoCreateTopics on the router)`, {
      details: { topic },
    });
  }

  /** Checks that `queueId` is one of the topic's queues on this broker. */
  async requireQueue(topic: string, queueId: number): Promise<TopicConfigMsg> {
    const config = await this.require(topic);
    if (!Number.isInteger(queueId) || queueId < 0 || queueId >= config.queues_per_broker) {
      throw new RoomqError('BAD_REQUEST', `topic ${topic} has queues 0-${config.queues_per_broker - 1} on this broker, not queue ${queueId}`, {
        details: { topic, queueId },
      });
    }
    return config;
  }
}
