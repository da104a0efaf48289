/**
 * Brokers that failed recently. New messages stay away from them for a while when another broker can take
 * them; this is a preference, never a ban, so a single-broker topic keeps working.
 */
export class BrokerHealth {
  private readonly isolatedUntil = new Map<string, number>();
  private cached: Set<string> | undefined;

  constructor(
    private readonly isolationMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  isolate(broker: string): void {
    this.isolatedUntil.set(broker, this.now() + this.isolationMs);
    this.cached = undefined;
  }

  /** Brokers isolated right now, or undefined when there are none (the common case, allocation-free). */
  isolated(): ReadonlySet<string> | undefined {
    if (this.isolatedUntil.size === 0) return undefined;
    const now = this.now();
    let changed = false;
    for (const [broker, until] of this.isolatedUntil) {
      if (until <= now) {
        this.isolatedUntil.delete(broker);
        changed = true;
      }
    }
    if (this.isolatedUntil.size === 0) {
      this.cached = undefined;
      return undefined;
    }
    if (changed || !this.cached) this.cached = new Set(this.isolatedUntil.keys());
    return this.cached;
  }
}
