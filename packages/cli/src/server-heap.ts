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
 * Setting a flag after V8 has started is allowed for flags read at GC time, as this one is; measured to take
 * effect the same as on the command line.
 */
export function tuneServerHeap(): void {
  setFlagsFromString('--no-allocation-site-pretenuring');
}
