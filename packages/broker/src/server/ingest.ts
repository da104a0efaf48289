import { RoomqError, messageRecordSize, summarizeMessageSection, validateMessage, type MessageLimits, type PublishEntryView } from '@roomq/protocol';
import type { AppendRequest, AppendResult, MessageStore } from '../store/index.js';
import type { TopicTable } from './topic-table.js';

/** Why this broker refuses writes right now, or undefined when it takes them. */
export type WriteGate = () => RoomqError | undefined;

/** Resolves once the group's replication mode holds the log up to `endOffset` (sync:N); at once in async mode. */
export type ReplicationWait = (endOffset: number) => Promise<void>;

/**
 * Validates what producers send and appends it: a request is stored whole or not at all, so a bad message
 * in a batch changes nothing. Shared by the v2 SendMessage call and roomq's streaming Publish.
 */
export class Ingest {
  constructor(
    private readonly store: MessageStore,
    private readonly topics: TopicTable,
    private readonly limits: MessageLimits,
    private readonly gate: WriteGate,
    private readonly replicated: ReplicationWait = () => Promise.resolve(),
  ) {}

  /**
   * Stores `entries` whole or refuses them. `copied` runs once their bytes are no longer needed (copied into the
   * log, or refused), before the append is durable: the caller may then reuse the memory they lie in.
   */
  async append(entries: readonly PublishEntryView[], copied: () => void = () => undefined): Promise<AppendResult[]> {
    let appending: Promise<AppendResult[]>;
    try {
      const batch = await this.validate(entries);
      // The store copies every section into the log before appendMessages returns.
      appending = batch.length === 0 ? Promise.resolve([]) : this.store.appendMessages(batch);
    } finally {
      copied();
    }
    const results = await appending;
    if (results.length === 0) return results;
    // Acknowledge only what the replication mode promises: in sync:N, the first N replicas hold every record.
    let end = 0;
    for (let i = 0; i < results.length; i++) end = Math.max(end, results[i]!.physicalOffset + messageRecordSize(entries[i]!.section.length));
    await this.replicated(end);
    return results;
  }

  /** The store's requests for `entries`, each validated; throws, changing nothing, when this broker refuses them. */
  private async validate(entries: readonly PublishEntryView[]): Promise<AppendRequest[]> {
    const refusal = this.gate();
    if (refusal) throw refusal;
    const batch: AppendRequest[] = new Array(entries.length);
    let lastTopic = '';
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      const summary = summarizeMessageSection(entry.section, 0, entry.section.length);
      try {
        validateMessage(summary, this.limits);
        // Most frames carry one topic: look the topic up once per run of equal topics.
        const known = this.topics.get(summary.topic);
        if (!known || summary.topic !== lastTopic || entry.queueId >= known.queues_per_broker) {
          await this.topics.requireQueue(summary.topic, entry.queueId);
        }
      } catch (err) {
        if (err instanceof RoomqError && entries.length > 1) {
          throw new RoomqError(err.code, `message ${i} of ${entries.length} refused, nothing of this request was stored: ${err.message}`, {
            details: { ...err.details, index: i },
            cause: err,
          });
        }
        throw err;
      }
      lastTopic = summary.topic;
      batch[i] = { queueId: entry.queueId, section: entry.section, summary };
    }
    return batch;
  }
}
