/** Acknowledge every this many messages (cumulatively, "all up to this one")… */
export const DEFAULT_ACK_EVERY = 100;
/** …and whatever is left after this long, so a slow stream's last messages are acknowledged too. */
export const DEFAULT_ACK_FLUSH_MS = 100;

/**
 * Cumulative acknowledgement in batches, for peers whose protocol acknowledges "everything up to this
 * message" (RabbitMQ `multiple`, JetStream AckPolicy.All). It is how a roomq consumer works too: it commits
 * an offset now and then rather than answering every message, so each system gets the same deal.
 */
export class AckBatcher<M> {
  private pending: M | undefined;
  private count = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly ackUpTo: (last: M) => void,
    private readonly every = DEFAULT_ACK_EVERY,
    flushMs = DEFAULT_ACK_FLUSH_MS,
  ) {
    this.timer = setInterval(() => this.flushQuietly(), flushMs);
    this.timer.unref();
  }

  add(message: M): void {
    this.pending = message;
    if (++this.count >= this.every) this.flush();
  }

  flush(): void {
    const last = this.pending;
    if (last === undefined) return;
    this.pending = undefined;
    this.count = 0;
    this.ackUpTo(last);
  }

  /** Acknowledges what is pending and stops the timer. */
  close(): void {
    clearInterval(this.timer);
    this.flushQuietly();
  }

  private flushQuietly(): void {
    try {
      this.flush();
    } catch {
      // The connection may already be gone; the bench deletes the queue next anyway.
    }
  }
}
