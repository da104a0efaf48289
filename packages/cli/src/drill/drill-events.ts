/**
 * Progress of a drill as it runs. With --json each event is one JSON line on stdout carrying `"event"` (the
 * report is the last line, without one); for people it is one line on stderr, so stdout keeps only the report.
 */

/** Milliseconds since the drill started; every time in a drill's report is on this clock. */
export type Clock = () => number;

export function startClock(): Clock {
  const t0 = performance.now();
  return () => Math.round((performance.now() - t0) * 10) / 10;
}

export interface DrillEvents {
  emit(event: string, fields: Record<string, unknown>, human: string): void;
}

export function drillEvents(json: boolean, clock: Clock, write: (stream: 'stdout' | 'stderr', line: string) => void = defaultWrite): DrillEvents {
  return {
    emit(event, fields, human) {
      const atMs = clock();
      if (json) write('stdout', JSON.stringify({ event, atMs, ...fields }));
      else write('stderr', `[${(atMs / 1000).toFixed(1).padStart(6)} s] ${human}`);
    },
  };
}

function defaultWrite(stream: 'stdout' | 'stderr', line: string): void {
  (stream === 'stdout' ? process.stdout : process.stderr).write(`${line}\n`);
}

/** Events that only show how far a wait got; not emitted more often than this. */
export const PROGRESS_EVERY_MS = 1000;
