import type { Logger } from 'pino';

/** Counters of producer spills, the router's metric of routing away from the preferred room. */
export interface SpillStats {
  /** Route answers that sent a client's producers to another room. */
  spilledAnswers: number;
  /** Times a (topic, client room) pair started spilling. */
  spillTransitions: number;
  /** (topic, client room) pairs spilling as of their last answer. */
  spillingNow: number;
}

export interface SpillObservation {
  topic: string;
  clientRoom: string;
  preferredRoom: string;
  spilled: boolean;
  /** Rooms that got writable queues instead. */
  writableRooms: string[];
}

/**
 * Remembers, per (topic, client room), whether the last answer spilled, and logs only the transitions: at warn
 * when producers start writing to another room, at info when they are back in the preferred room.
 */
export class SpillTracker {
  private readonly spilling = new Set<string>();
  private answers = 0;
  private transitions = 0;

  constructor(private readonly logger: Logger) {}

  observe(o: SpillObservation): void {
    const key = `${o.topic}\u0000${o.clientRoom}`;
    const was = this.spilling.has(key);
    if (o.spilled) this.answers += 1;
    if (o.spilled === was) return;
    const fields = { topic: o.topic, clientRoom: o.clientRoom, preferredRoom: o.preferredRoom, writableRooms: o.writableRooms };
    if (o.spilled) {
      this.spilling.add(key);
      this.transitions += 1;
      this.logger.warn({ ...fields, spillTransitions: this.transitions }, 'producers spill to another room: the preferred room has no writable queue');
    } else {
      this.spilling.delete(key);
      this.logger.info(fields, 'producers back in the preferred room');
    }
  }

  stats(): SpillStats {
    return { spilledAnswers: this.answers, spillTransitions: this.transitions, spillingNow: this.spilling.size };
  }
}
