import { spawn } from 'node:child_process';

/**
 * glibc malloc settings for roomq server processes; the launcher sets each one the environment does not.
 *
 * Why: the broker's hot paths allocate buffers of hundreds of KiB to a few MiB per batch (gRPC frames, read
 * replies, protobuf encodings). glibc serves those with mmap and gives them back with munmap, or trims the heap
 * after a burst of frees, so the next one page-faults every 4 KiB again. On the 2-core VM the benchmarks run on,
 * a fresh 1 MiB buffer filled once cost 0.5–0.9 ms that way against 0.05–0.09 ms with these settings (heap
 * memory reused in place), and broker throughput rose accordingly (see the commit). The cost is resident
 * memory: freed heap memory stays with the process up to the trim threshold.
 *
 * Both must be set: a trim threshold alone turns off glibc's adaptive mmap threshold and makes every such
 * buffer an mmap (measured 3.5 ms per 1 MiB). Other C libraries ignore these variables.
 */
export const ALLOCATOR_ENV: Readonly<Record<string, string>> = {
  /** Blocks below 64 MiB come from the heap, not from their own mmap. */
  MALLOC_MMAP_THRESHOLD_: String(64 * 1024 * 1024),
  /** Free memory at the top of the heap goes back to the system only past 256 MiB. */
  MALLOC_TRIM_THRESHOLD_: String(256 * 1024 * 1024),
};

/** `env` with the allocator settings added where it has none of its own. */
export function withAllocatorEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const [name, value] of Object.entries(ALLOCATOR_ENV)) out[name] ??= value;
  return out;
}

/**
 * Runs this process's command again as a child with the allocator settings, when this process lacks any of
 * them, and resolves with the child's exit code (re-raising a signal it died of); resolves undefined, doing
 * nothing, when they are set. For a process that moves bulk data itself: the bench, whose client and room-link
 * proxies run in its own process (a proxy relaying a chain's log paid more for page faults than for the copy,
 * measured 1.1 ms of CPU per 218 KB chunk without the settings, 0.4 ms with them). glibc reads them at start.
 * SIGINT and SIGTERM sent to this process are passed on.
 */
export async function rerunWithAllocatorEnv(): Promise<number | undefined> {
  if (Object.keys(ALLOCATOR_ENV).every((name) => process.env[name] !== undefined)) return undefined;
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: withAllocatorEnv(process.env) });
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (exitCode, exitSignal) => resolve({ code: exitCode, signal: exitSignal }));
  });
  process.off('SIGINT', forward);
  process.off('SIGTERM', forward);
  if (signal) process.kill(process.pid, signal);
  return code ?? 1;
}
