import { RoomqError, SILENT_LOGGER, abortedError, parseConfig } from '@roomq/protocol';
import { z } from 'zod';
import type { MemberProgress, ProgressSource } from './member-progress.js';
import { loggerSchema, nameSchema } from './options.js';

export const syncGateOptionsSchema = z
  .object({
    group: nameSchema,
    /** N of `sync:N`: how many members after the master must hold a message durably. */
    replicas: z.number().int().min(1),
    /** The members after the master, in chain order as configured (first = the master's direct replica). */
    chain: z.array(nameSchema).min(1, 'a sync group needs at least one replica after the master'),
    /** Where progress reports come from: the master's UpstreamServer. */
    source: z.custom<ProgressSource>(
      (value) => typeof value === 'object' && value !== null && typeof (value as ProgressSource).progress === 'function' && typeof (value as ProgressSource).onProgress === 'function',
      'expected a ProgressSource (the master\'s UpstreamServer)',
    ),
    logger: loggerSchema.default(SILENT_LOGGER),
  })
  .refine((o) => o.replicas <= o.chain.length, {
    message: 'sync:N needs N replicas after the master, but the chain names fewer; lower N in the group\'s replication mode or add members',
    path: ['replicas'],
  });

export type SyncGateOptions = z.input<typeof syncGateOptionsSchema>;

interface Waiter {
  offset: number;
  /** Date.now() after which it fails with REPLICATION_TIMEOUT. */
  deadline: number;
  timeoutMs: number;
  /** Set once settled; a settled waiter may still sit in the queue until the head passes it. */
  done: boolean;
  resolve(): void;
  reject(err: RoomqError): void;
}

/**
 * Holds a producer's acknowledgement in `sync:N` mode until N members of the chain hold the message durably.
 * In a configured chain that is the first N (a member never holds more than the one before it); for an acting
 * master whose members all follow it directly, any N, so one member catching up after a restore holds back no
 * write while another already has it. `waitFor(offset)` takes the exclusive end offset of the last record to be acknowledged.
 * `async` mode needs no gate.
 */
export class SyncGate {
  private readonly options: z.output<typeof syncGateOptionsSchema>;
  private required: readonly string[];
  private replicas: number;
  private readonly durable = new Map<string, number>();
  private synced = -1;
  /** Ordered by offset; those before `head` are settled. */
  private waiters: Waiter[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerDeadline = 0;
  private readonly unsubscribe: () => void;
  private closed = false;
  private readonly syncedListeners = new Set<(offset: number) => void>();

  constructor(options: SyncGateOptions) {
    this.options = parseConfig(syncGateOptionsSchema, options, 'invalid SyncGate options');
    this.required = this.options.chain;
    this.replicas = this.options.replicas;
    this.unsubscribe = this.options.source.onProgress((progress) => this.update(progress));
    this.update(this.options.source.progress());
  }

  /** Calls `listener` whenever the synced offset moves (Infinity when no replica is waited for). */
  onSynced(listener: (offset: number) => void): () => void {
    this.syncedListeners.add(listener);
    return () => this.syncedListeners.delete(listener);
  }

  /** Offset below which N members hold the log durably (-1 until N have reported). */
  syncedOffset(): number {
    return this.synced;
  }

  /**
   * Resolves once N members' durable offsets are ≥ `offset`. Rejects with REPLICATION_TIMEOUT
   * after `timeoutMs` (the message stays stored on the master), ABORTED when `signal` aborts, CLOSED on close().
   */
  waitFor(offset: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (offset <= this.synced) return Promise.resolve();
    if (this.closed) return Promise.reject(new RoomqError('CLOSED', 'the sync gate is closed; the broker is shutting down'));
    if (signal?.aborted) return Promise.reject(abortedError(signal));
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => waiter.reject(abortedError(signal!));
      const waiter: Waiter = {
        offset,
        deadline: Date.now() + timeoutMs,
        timeoutMs,
        done: false,
        resolve: () => {
          if (waiter.done) return;
          waiter.done = true;
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (err) => {
          if (waiter.done) return;
          waiter.done = true;
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.enqueue(waiter);
    });
  }

  /**
   * Keeps waiters ordered by offset, so a report releases a prefix. Producers' writes come in log order, so a new
   * waiter almost always goes at the end.
   */
  private enqueue(waiter: Waiter): void {
    const waiters = this.waiters;
    if (waiters.length === 0 || waiters[waiters.length - 1]!.offset <= waiter.offset) waiters.push(waiter);
    else {
      let lo = this.head;
      let hi = waiters.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (waiters[mid]!.offset <= waiter.offset) lo = mid + 1;
        else hi = mid;
      }
      waiters.splice(lo, 0, waiter);
    }
    this.armTimer(waiter.deadline);
  }

  /**
   * One timer for all waiters, not one each (a write per frame at tens of thousands of messages a second): it
   * fires at the earliest deadline it knows of, fails the waiters past theirs and re-arms for the rest.
   */
  private armTimer(deadline: number): void {
    if (this.timer !== undefined && this.timerDeadline <= deadline) return;
    clearTimeout(this.timer);
    this.timerDeadline = deadline;
    this.timer = setTimeout(() => this.expire(), Math.max(0, deadline - Date.now()));
    this.timer.unref?.();
  }

  private expire(): void {
    this.timer = undefined;
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    for (let i = this.head; i < this.waiters.length; i++) {
      const waiter = this.waiters[i]!;
      if (waiter.done) continue;
      if (waiter.deadline <= now) waiter.reject(this.timeoutError(waiter.offset, waiter.timeoutMs));
      else next = Math.min(next, waiter.deadline);
    }
    this.compact();
    if (next !== Number.POSITIVE_INFINITY) this.armTimer(next);
  }

  /** Drops settled waiters at the head; the array is rebuilt once the dead prefix is big. */
  private compact(): void {
    while (this.head < this.waiters.length && this.waiters[this.head]!.done) this.head++;
    if (this.head === this.waiters.length) {
      this.waiters = [];
      this.head = 0;
      clearTimeout(this.timer);
      this.timer = undefined;
    } else if (this.head > 1024 && this.head * 2 > this.waiters.length) {
      this.waiters = this.waiters.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * Changes which members count (a room was cut or restored), keeping pending waits: they resolve as soon as
   * `replicas` of the new chain hold their offset.
   */
  reconfigure(chain: readonly string[], replicas: number): void {
    // 0 replicas: every member is in a cut room; writes (and those waiting) stand on this member's disk alone.
    if (replicas < 0 || replicas > chain.length) throw new RoomqError('CONFIG_INVALID', `sync gate needs 0..${chain.length} replicas, got ${replicas}`);
    this.required = [...chain];
    this.replicas = replicas;
    this.update(this.options.source.progress());
  }

  /** Rejects every pending wait with CLOSED and stops listening. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    this.syncedListeners.clear();
    clearTimeout(this.timer);
    this.timer = undefined;
    const waiters = this.waiters.slice(this.head);
    this.waiters = [];
    this.head = 0;
    for (const waiter of waiters) waiter.reject(new RoomqError('CLOSED', 'the sync gate closed before the replicas confirmed; the message is stored on the master', { retriable: true }));
  }

  private update(progress: readonly MemberProgress[]): void {
    for (const m of progress) if (this.required.includes(m.member)) this.durable.set(m.member, m.durableOffset);
    // The N-th highest durable offset: N members hold everything below it.
    const offsets = this.required.map((member) => this.durable.get(member) ?? -1).sort((a, b) => b - a);
    const synced = this.replicas === 0 ? Number.POSITIVE_INFINITY : (offsets[this.replicas - 1] ?? -1);
    const moved = synced !== this.synced;
    this.synced = synced;
    if (moved) for (const listener of this.syncedListeners) listener(synced);
    for (let i = this.head; i < this.waiters.length && this.waiters[i]!.offset <= synced; i++) this.waiters[i]!.resolve();
    this.compact();
  }

  private timeoutError(offset: number, timeoutMs: number): RoomqError {
    const behind: Record<string, number | null> = {};
    const parts: string[] = [];
    for (const member of this.required) {
      const durable = this.durable.get(member);
      if (durable !== undefined && durable >= offset) continue;
      if (durable === undefined) {
        behind[member] = null;
        parts.push(`${member} has not reported progress`);
      } else if (durable < offset) {
        behind[member] = offset - durable;
        parts.push(`${member} is ${offset - durable} bytes behind (durable up to ${durable})`);
      }
    }
    const { group } = this.options;
    const replicas = this.replicas;
    return new RoomqError(
      'REPLICATION_TIMEOUT',
      `group ${group} (sync:${replicas}): the message ending at log offset ${offset} is stored on the master but not yet on ${replicas} replica(s) after ${timeoutMs} ms: ${parts.join('; ')}. ` +
        'The producer may retry (at-least-once: the message may then be stored twice) or check the replicas with `roomq cluster status`',
      { details: { group, offset, behindBytes: behind } },
    );
  }
}
