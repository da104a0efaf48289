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
 * CPU time in microseconds: all of it, and the part spent in the kernel on the process's behalf (system time:
 * copying into the page cache and socket buffers, fdatasync, page faults). On two shared cores the kernel part
 * says how much of a process's cost no change to our code reaches: every member of a chain writes every byte.
 */
export interface CpuTime {
  total: number;
  kernel: number;
}

/**
 * CPU a process has used so far, or undefined where /proc cannot tell (not Linux, or the process is gone).
 * Servers are sampled through /proc at 10 ms resolution, enough over runs of seconds.
 */
export function cpuMicros(subject: CpuSubject): CpuTime | undefined {
  if (subject.pid === undefined) {
    const usage = process.cpuUsage();
    return { total: usage.user + usage.system, kernel: usage.system };
  }
  try {
    const stat = readFileSync(`/proc/${subject.pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const user = (Number(fields[11]) * 1_000_000) / USER_HZ;
    const kernel = (Number(fields[12]) * 1_000_000) / USER_HZ;
    return { total: user + kernel, kernel };
  } catch {
    return undefined;
  }
}

/**
 * Runs `work` and returns its result with the CPU each subject used meanwhile, per unit of `units` (e.g. µs per
 * message); a subject that could not be sampled is left out.
 */
export async function withCpuPerUnit<T>(subjects: readonly CpuSubject[], units: number, work: () => Promise<T>): Promise<{ result: T; cpuPerUnit: Map<string, CpuTime> }> {
  const before = subjects.map(cpuMicros);
  const result = await work();
  const cpuPerUnit = new Map<string, CpuTime>();
  subjects.forEach((subject, i) => {
    const after = cpuMicros(subject);
    const start = before[i];
    if (after !== undefined && start !== undefined && units > 0) {
      cpuPerUnit.set(subject.name, { total: (after.total - start.total) / units, kernel: (after.kernel - start.kernel) / units });
    }
  });
  return { result, cpuPerUnit };
}

/** "client 4.7 (kernel 1.2), master 8.3 (kernel 4.0), …" in µs, in the subjects' order. */
export function formatCpuPerUnit(cpu: ReadonlyMap<string, CpuTime>): string {
  return [...cpu].map(([name, time]) => `${name} ${time.total.toFixed(1)} (kernel ${time.kernel.toFixed(1)})`).join(', ');
}

/** The sum over processes. */
export function sumCpu(cpu: ReadonlyMap<string, CpuTime>): CpuTime {
  let total = 0;
  let kernel = 0;
  for (const time of cpu.values()) {
    total += time.total;
    kernel += time.kernel;
  }
  return { total, kernel };
}
