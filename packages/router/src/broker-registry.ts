import type { Logger } from 'pino';
import type { BrokerState, BrokerView } from './broker-state.js';

export interface BrokerRegistryOptions {
  /** A broker is dead once this long passes without a heartbeat. */
  brokerTimeoutMs: number;
  logger: Logger;
  /** Wall clock, for the heartbeat times the registry shows. */
  now?: () => number;
  /**
   * The clock silences are measured on; defaults to `now`. The router passes a HearingClock, so that its own
   * stalls never count as a broker's silence.
   */
  hearingNow?: () => number;
  /**
   * Called after every transition that can change routes: registration, return from silence, going silent,
   * status/writable changes, identity (role, endpoint, group, restart) changes. Not called for plain heartbeats.
   */
  onTransition?: (transition: BrokerTransition) => void;
  /**
   * Called after every heartbeat, transition or not (after onTransition), for owners whose routes depend on
   * reported progress, such as which replica is the most caught up.
   */
  onHeartbeat?: (state: BrokerState) => void;
}

export interface BrokerTransition {
  broker: string;
  kind: 'registered' | 'returned' | 'silent' | 'status' | 'identity';
}

interface Entry {
  state: BrokerState;
  firstSeenMs: number;
  /** Wall clock, shown to operators. */
  lastHeartbeatMs: number;
  /** On the hearing clock; liveness is computed from it. */
  lastHeardMs: number;
  /** Liveness as last logged; the truth is computed from lastHeardMs on every read. */
  reportedAlive: boolean;
}

/**
 * Brokers known to this router, fed by heartbeats. Pure bookkeeping: no timers and no I/O, the owner calls
 * sweep() periodically so that brokers going silent are logged; liveness itself is always computed from the
 * hearing clock, so routes never depend on when the last sweep ran.
 */
export class BrokerRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly timeoutMs: number;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly hearingNow: () => number;
  private readonly onTransition: (transition: BrokerTransition) => void;
  private readonly onHeartbeat: (state: BrokerState) => void;

  constructor(options: BrokerRegistryOptions) {
    this.timeoutMs = options.brokerTimeoutMs;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.hearingNow = options.hearingNow ?? this.now;
    this.onTransition = options.onTransition ?? (() => undefined);
    this.onHeartbeat = options.onHeartbeat ?? (() => undefined);
  }

  /** Records a heartbeat and logs what changed: registration, return from silence, status or role changes. */
  heartbeat(state: BrokerState): void {
    const now = this.now();
    const heard = this.hearingNow();
    const entry = this.entries.get(state.name);
    const fields = { broker: state.name, group: state.group, room: state.room, role: state.role, endpoint: state.endpoint, status: state.status };
    if (!entry) {
      this.entries.set(state.name, { state, firstSeenMs: now, lastHeartbeatMs: now, lastHeardMs: heard, reportedAlive: true });
      this.logger.info({ ...fields, writable: state.writable, reason: state.statusReason || undefined }, 'broker registered');
      this.onTransition({ broker: state.name, kind: 'registered' });
      this.onHeartbeat(state);
      return;
    }
    const previous = entry.state;
    const wasAlive = entry.reportedAlive && heard - entry.lastHeardMs <= this.timeoutMs;
    const transitions: BrokerTransition['kind'][] = [];
    if (!wasAlive) {
      this.logger.info({ ...fields, silentMs: heard - entry.lastHeardMs }, 'broker came back');
      transitions.push('returned');
    }
    if (previous.status !== state.status || previous.writable !== state.writable || previous.statusReason !== state.statusReason) {
      const level = state.status === 'failed' ? 'warn' : 'info';
      this.logger[level](
        { ...fields, previousStatus: previous.status, writable: state.writable, previousWritable: previous.writable, reason: state.statusReason || undefined },
        'broker status changed',
      );
      transitions.push('status');
    }
    if (previous.role !== state.role || previous.endpoint !== state.endpoint || previous.group !== state.group || previous.startedAtMs !== state.startedAtMs) {
      this.logger.info(
        { ...fields, previousRole: previous.role, previousEndpoint: previous.endpoint, previousGroup: previous.group, restarted: previous.startedAtMs !== state.startedAtMs },
        'broker identity changed',
      );
      transitions.push('identity');
    }
    entry.state = state;
    entry.lastHeartbeatMs = now;
    entry.lastHeardMs = heard;
    entry.reportedAlive = true;
    for (const kind of transitions) this.onTransition({ broker: state.name, kind });
    this.onHeartbeat(state);
  }

  /** Logs brokers that went silent since the last sweep. */
  sweep(): void {
    const heard = this.hearingNow();
    for (const entry of this.entries.values()) {
      if (entry.reportedAlive && heard - entry.lastHeardMs > this.timeoutMs) {
        entry.reportedAlive = false;
        this.logger.info(
          { broker: entry.state.name, group: entry.state.group, room: entry.state.room, silentMs: heard - entry.lastHeardMs, timeoutMs: this.timeoutMs },
          'broker went silent',
        );
        this.onTransition({ broker: entry.state.name, kind: 'silent' });
      }
    }
  }

  /** Every broker ever registered since start, alive or not, sorted by name. */
  list(): BrokerView[] {
    const heard = this.hearingNow();
    return [...this.entries.values()]
      .map((e) => ({ state: e.state, firstSeenMs: e.firstSeenMs, lastHeartbeatMs: e.lastHeartbeatMs, alive: heard - e.lastHeardMs <= this.timeoutMs }))
      .sort((a, b) => a.state.name.localeCompare(b.state.name));
  }

  alive(): BrokerView[] {
    return this.list().filter((b) => b.alive);
  }

  /** Rooms of every broker ever registered since start. */
  rooms(): Set<string> {
    const rooms = new Set<string>();
    for (const entry of this.entries.values()) rooms.add(entry.state.room);
    return rooms;
  }

  get size(): number {
    return this.entries.size;
  }
}
