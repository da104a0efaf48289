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

/** Clock ticks all CPUs of the machine spent so far: busy (anything but idle and I/O wait) and in all. */
export interface MachineTicks {
  busy: number;
  total: number;
}

/**
 * The machine's CPU ticks from the first line of `/proc/stat` (`cpu  user nice system idle iowait irq softirq
 * steal …`; guest time is already inside user), or undefined where there is none (not Linux).
 */
export function machineTicks(stat = readProcStat()): MachineTicks | undefined {
  const line = stat?.split('\n', 1)[0];
  if (!line?.startsWith('cpu ')) return undefined;
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (fields.length < 5 || fields.some((n) => !Number.isFinite(n))) return undefined;
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - fields[3]! - fields[4]!, total };
}

function readProcStat(): string | undefined {
  try {
    return readFileSync('/proc/stat', 'utf8');
  } catch {
    return undefined;
  }
}

/** Share of all the machine's CPU time that was busy between two readings (0..1), or undefined. */
export function busyShare(before: MachineTicks | undefined, after: MachineTicks | undefined): number | undefined {
  if (before === undefined || after === undefined || after.total <= before.total) return undefined;
  return (after.busy - before.busy) / (after.total - before.total);
}

/**
 * Runs `work` and returns its result with the CPU each subject used meanwhile, per unit of `units` (e.g. µs per
 * message); a subject that could not be sampled is left out. `machineBusy` is the share of the whole machine's
 * CPU that was busy meanwhile (undefined off Linux): below 1 while every process waits on another, it tells a
 * run bound by latency from one bound by CPU, which the per-process figures alone do not.
 */
export async function withCpuPerUnit<T>(
  subjects: readonly CpuSubject[],
  units: number,
  work: () => Promise<T>,
): Promise<{ result: T; cpuPerUnit: Map<string, CpuTime>; machineBusy: number | undefined }> {
  const before = subjects.map(cpuMicros);
  const machineBefore = machineTicks();
  const result = await work();
  const machineBusy = busyShare(machineBefore, machineTicks());
  const cpuPerUnit = new Map<string, CpuTime>();
  subjects.forEach((subject, i) => {
    const after = cpuMicros(subject);
    const start = before[i];
    if (after !== undefined && start !== undefined && units > 0) {
      cpuPerUnit.set(subject.name, { total: (after.total - start.total) / units, kernel: (after.kernel - start.kernel) / units });
    }
  });
  return { result, cpuPerUnit, machineBusy };
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
