import { setFlagsFromString } from 'node:v8';

/**
 * V8 settings for roomq server processes, applied first thing when a broker or router starts, whoever starts
 * it (roomq local, a service manager, the tests).
 *
 * Why: V8 pretenures an allocation site (allocates its objects straight into the old generation) once enough of
 * them survive a scavenge. A server's request-scoped objects (a replicated chunk's record plan, a publish's
 * promises and views) are alive across a disk flush, so those that a scavenge happens to catch in flight make
 * their sites look long-lived; pretenured, they then die in the old generation. It grew by 6 MB between
 * scavenges in a replica (`--trace-gc-verbose`: new space held under 100 KB after each scavenge), so V8 kept
 * mapping fresh 256 KiB old-space pages and unmapping them after each mark-compact: 0.05–0.08 page faults per
 * message in every member of a chain. Page faults are expensive on the VMs we run on (each fresh page a fault in
 * the hypervisor). Without pretenuring, faults fell to 0.013–0.028 per message, and a sync:1 chain of three
 * published 10–30% more in paired runs (59–76k to 77–87k msg/s); a single broker's faults fell from 0.07 to
 * 0.03 per message.
 *
 * No incremental-marking task: V8 starts a major GC's incremental marking from a posted task once the old
 * generation comes within a new space's size of its limit (the "soft limit"), and otherwise when an allocation
 * reaches the limit. A chain's master kept landing just under the soft limit with little to collect: it ran 3–4
 * mark-compacts a second at steady state (`--trace-gc`; 14–21 per run against 2–3 in its replicas and in a single
 * broker), each started by the task (`--trace-incremental-marking`: "Start (task)", old generation 20 MB of a
 * 44 MB limit), and marking, sweeping and compaction held up to 21% of its CPU samples (`perf`). Killing its
 * replicas stopped them, so shipping the log is what kept it there, though its promotion rate was only ~40 KB
 * per scavenge. Without the task, marking starts at the limit itself: 2 mark-compacts per run in every member,
 * and in three alternated pairs of sync:1 chain runs the master's CPU per message fell from 8.0–10.5 µs to
 * 7.0–7.4 and the chain published 71–76k msg/s against 60–70k. Collection still happens as the process allocates;
 * an idle server just keeps its garbage a little longer.
 *
 * Setting a flag after V8 has started is allowed for flags read at GC time, as both are; measured to take effect
 * the same as on the command line (mark-compacts per run as above).
 */
export function tuneServerHeap(): void {
  setFlagsFromString('--no-allocation-site-pretenuring');
  setFlagsFromString('--no-incremental-marking-task');
}
