/**
 * What the side-by-side scenarios need from a messaging system: open a fresh queue, publish to it with the
 * system's own acknowledgement, and consume it as a group. roomq and every peer (NATS JetStream, RabbitMQ,
 * Redis Streams) implement it, so one scenario runs the same code against each of them.
 */

/** How much an acknowledgement is worth, said plainly in every report. */
export interface Durability {
  /** True only when the system fsyncs a message before it acknowledges it. */
  fsyncedBeforeAck: boolean;
  /** One line for the report, e.g. "confirm after the Raft WAL is fsynced". */
  ackMeans: string;
}

/** One configuration of one system, e.g. Redis Streams with appendfsync always. */
export interface Subject {
  /** Stable key for JSON and `--peers`, e.g. `redis:always`. */
  readonly id: string;
  /** Column title, e.g. "Redis Streams (appendfsync always)". */
  readonly label: string;
  /** Short form for the chart, e.g. "Redis always". */
  readonly shortLabel: string;
  readonly durability: Durability;
  /** A fresh, empty queue (stream, topic) for one scenario; names never repeat within a run. */
  openSession(name: string): Promise<Session>;
  /** Undoes whatever the subject changed on its server (configuration, queues). Idempotent. */
  close(): Promise<void>;
}

/** One queue of a subject. */
export interface Session {
  /** Resolves once the system acknowledged the message; rejects when it refused or failed it. */
  publish(body: Buffer): Promise<void>;
  /**
   * Consumes the queue from its oldest message as a new group (consumer group, durable consumer), calling
   * `onMessage` once per message with a view of its body. Resolves once the subscription is in place.
   */
  consume(onMessage: (body: Uint8Array) => void): Promise<Subscription>;
  /** Stops its consumers and deletes the queue. Idempotent. */
  close(): Promise<void>;
}

export interface Subscription {
  stop(): Promise<void>;
}

/** A peer system the bench can compare with, and the variants it can run in. */
export interface PeerDefinition {
  readonly name: string;
  /** `host:port`, for the skip note. */
  readonly endpoint: string;
  readonly variants: readonly string[];
  /** The variants `--peers NAME` (and the default) runs. */
  readonly defaultVariants: readonly string[];
  /** Connects and prepares one variant; rejects with a message saying what is missing. */
  open(variant: string): Promise<Subject>;
}
