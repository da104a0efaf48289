/** How often the clock looks at the wall clock; a tick that comes later than this means the process was stalled. */
export const DEFAULT_HEARING_TICK_MS = 50;
/** Wall time between two ticks beyond this is not counted: the process could not hear anything meanwhile. */
export const DEFAULT_HEARING_MAX_GAP_MS = 250;

export interface HearingClockOptions {
  tickMs?: number;
  maxGapMs?: number;
  now?: () => number;
}

/**
 * Milliseconds during which this process was able to hear heartbeats: wall time minus the stalls of its own event
 * loop (garbage collection, a starved CPU, a long synchronous task).
 *
 * Why: a router judges brokers dead after a silence. Measured on the wall clock, a router that stalls for a second
 * finds every broker silent when it wakes, before it has read the heartbeats waiting in its sockets, and moves
 * routes for brokers that never stopped. Measured on this clock, a silence counts only while the router was
 * listening, so a stall delays the detection of a real death by at most the stall and never invents one.
 */
export class HearingClock {
  private readonly tickMs: number;
  private readonly maxGapMs: number;
  private readonly wallNow: () => number;
  private lastTickWallMs: number;
  private heardMs: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: HearingClockOptions = {}) {
    this.tickMs = options.tickMs ?? DEFAULT_HEARING_TICK_MS;
    this.maxGapMs = Math.max(options.maxGapMs ?? DEFAULT_HEARING_MAX_GAP_MS, this.tickMs);
    // Monotonic: a wall clock stepped back by NTP would stop the clock, one stepped forward would count as a stall.
    this.wallNow = options.now ?? (() => performance.now());
    this.lastTickWallMs = this.wallNow();
    this.heardMs = this.lastTickWallMs;
  }

  /** Ticks on a timer until stop(); the timer never keeps the process alive. */
  start(): void {
    if (this.timer) return;
    this.tick();
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Counts the time since the last tick, capped at maxGapMs. Public for tests. Only differences have meaning. */
  tick(): void {
    const wall = this.wallNow();
    this.heardMs += this.gap(wall);
    this.lastTickWallMs = wall;
  }

  /**
   * Heard time now. Also capped between ticks, so the first read after a stall (which can run before the tick
   * timer does) sees at most maxGapMs more than before the stall.
   */
  now(): number {
    return this.heardMs + this.gap(this.wallNow());
  }

  private gap(wall: number): number {
    return Math.min(Math.max(0, wall - this.lastTickWallMs), this.maxGapMs);
  }
}
