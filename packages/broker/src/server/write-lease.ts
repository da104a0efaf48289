/**
 * The isolation fence. A broker accepts writes only while it is demonstrably not cut off from the rest of the
 * cluster, judged from its heartbeat replies within the last lease:
 * - a router that reads the shared control state answered (it would have told the broker of a cut), or
 * - routers of at least two rooms answered (the broker is not isolated with its room, even if the control store
 *   itself is down: a control-store outage alone must not stop every broker in both rooms).
 * A room partitioned from the others — its brokers reach only their own room's router, which has lost the
 * control store — stops taking writes once the lease runs out, instead of taking writes that the surviving
 * room, which may have promoted acting masters by then, will never see.
 */
export class WriteLease {
  /** room → until when its routers vouch, and whether with a healthy control state. */
  private readonly grants = new Map<string, { untilMs: number; healthy: boolean }>();
  private lastValidMs = 0;

  constructor(
    private readonly leaseMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * A router of `room` answered. The lease runs from when the heartbeat was sent, not when the reply arrived,
   * so a slow reply never stretches it; the broker's own setting caps what the router grants.
   */
  grant(room: string, sentAtMs: number, grantedMs: number, controlHealthy: boolean): void {
    if (grantedMs <= 0) return;
    const untilMs = sentAtMs + Math.min(grantedMs, this.leaseMs);
    const had = this.grants.get(room);
    // The newest reply of a room decides its health; a late, older reply never extends or heals it.
    if (had && had.untilMs > untilMs) return;
    this.grants.set(room, { untilMs, healthy: controlHealthy });
  }

  valid(): boolean {
    const now = this.now();
    let rooms = 0;
    for (const g of this.grants.values()) {
      if (g.untilMs <= now) continue;
      if (g.healthy) return this.mark(now);
      rooms++;
    }
    return rooms >= 2 ? this.mark(now) : false;
  }

  private mark(now: number): true {
    this.lastValidMs = now;
    return true;
  }

  /** Why writes are fenced, or undefined while the lease holds. */
  refusal(): string | undefined {
    if (this.valid()) return undefined;
    if (this.grants.size === 0) return 'no router has answered yet';
    const rooms = [...this.grants].filter(([, g]) => g.untilMs > this.now()).map(([room]) => room);
    const since = this.lastValidMs > 0 ? ` for ${this.now() - this.lastValidMs} ms` : '';
    const heard = rooms.length === 0 ? 'no router answered within the lease' : `only routers of ${rooms.join(', ')} answered, and they cannot read the control state`;
    return `write lease (${this.leaseMs} ms) expired${since}: ${heard}`;
  }
}
