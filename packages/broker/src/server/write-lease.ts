/**
 * The isolation fence. A broker accepts writes only while some router whose control state is healthy has
 * vouched for it within the lease: a router grants the lease in every heartbeat reply, and only while it can
 * read the shared control state (so it would have told the broker about a cut). An isolated room — its brokers
 * cut off from every such router — stops accepting writes once the lease runs out, instead of taking writes
 * that the surviving room, which may have promoted acting masters by then, will never see.
 */
export class WriteLease {
  private validUntilMs = 0;
  private grantedOnce = false;

  constructor(
    private readonly leaseMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * A router answered and granted `grantedMs` (0: it could not vouch). The lease runs from when the heartbeat was
   * sent, not when the reply arrived, so a slow reply never stretches it; the broker's own setting caps it.
   */
  grant(sentAtMs: number, grantedMs: number): void {
    if (grantedMs <= 0) return;
    const until = sentAtMs + Math.min(grantedMs, this.leaseMs);
    if (until > this.validUntilMs) this.validUntilMs = until;
    this.grantedOnce = true;
  }

  valid(): boolean {
    return this.now() < this.validUntilMs;
  }

  /** Why writes are fenced, or undefined while the lease holds. */
  refusal(): string | undefined {
    if (this.valid()) return undefined;
    if (!this.grantedOnce) return 'no router with a healthy control state has answered yet';
    return `no router with a healthy control state has answered for ${this.now() - this.validUntilMs + this.leaseMs} ms (lease ${this.leaseMs} ms)`;
  }
}
