import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on every Linux we run on). */
const USER_HZ = 100;

/** A process whose CPU time is sampled: the bench itself, or a server it started. */
export interface CpuSubject {
  name: string;
  /** Undefined for the bench process itself. */
  pid?: number | undefined;
}

/**
 * CPU microseconds a process has used so far (user + system), or undefined where /proc cannot tell (not Linux,
 * or the process is gone). Servers are sampled through /proc at 10 ms resolution, enough over runs of seconds.
 */
export function cpuMicros(subject: CpuSubject): number | undefined {
  if (subject.pid === undefined) {
    const usage = process.cpuUsage();
    return usage.user + usage.system;
  }
  try {
    const stat = readFileSync(`/proc/${subject.pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / USER_HZ;
  } catch {
    return undefined;
  }
}

/**
 * Runs `work` and returns its result with the CPU each subject used meanwhile, per unit of `units` (e.g. µs per
 * message); a subject that could not be sampled is left out.
 */
export async function withCpuPerUnit<T>(subjects: readonly CpuSubject[], units: number, work: () => Promise<T>): Promise<{ result: T; cpuPerUnit: Map<string, number> }> {
  const before = subjects.map(cpuMicros);
  const result = await work();
  const cpuPerUnit = new Map<string, number>();
  subjects.forEach((subject, i) => {
    const after = cpuMicros(subject);
    const start = before[i];
    if (after !== undefined && start !== undefined && units > 0) cpuPerUnit.set(subject.name, (after - start) / units);
  });
  return { result, cpuPerUnit };
}

/** "client 4.7, master 8.3, …" in µs, in the subjects' order. */
export function formatCpuPerUnit(cpu: ReadonlyMap<string, number>): string {
  return [...cpu].map(([name, micros]) => `${name} ${micros.toFixed(1)}`).join(', ');
}
