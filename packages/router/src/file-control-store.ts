import { hostname } from 'node:os';
import { link, mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isLogger, parseConfig, RoomqError, type TopicMode } from '@roomq/protocol';
import { pino, type Logger } from 'pino';
import { z } from 'zod';
import { decodeControlFile, encodeControlFile, LegacyHomeRoomRequired, CONTROL_FILE_VERSION } from './control-file-format.js';
import { CachedControlStore } from './cached-control-store.js';
import { copyControlState, emptyControlState, membersFingerprint, pruneControlState, type ControlState } from './control-state.js';
import type { ControlTransition, ControlTransitionOutcome, CreateTopicOutcome, GroupMember, MigrationChange, MigrationChangeOutcome, NewTopic, RouterRecord, TopicConfig } from './control-store.js';
import { applyMigrationTransition, validateMigrationChange } from './migration-transition.js';
import { applyTransition, validateTransition } from './control-transition.js';

/** Name of the control file inside `dataDir` when the store is given a directory rather than a path. */
export const CONTROL_FILE_NAME = 'control.json';
/** How often the file is checked for other processes' changes; they reach this store's listeners within it. */
export const DEFAULT_FILE_POLL_INTERVAL_MS = 200;
/**
 * Heartbeats and member reports that only move timestamps are written at most this often (together, in one
 * write); anything else is written at once. Readers use maxAgeMs of a few seconds, so this keeps them alive.
 */
export const DEFAULT_HEARTBEAT_PERSIST_MS = 1000;
/** A lock file older than this is left over from a crash (writers hold it for milliseconds) and is broken. */
export const DEFAULT_STALE_LOCK_MS = 10_000;
/** A change waiting this long for the lock fails with UNAVAILABLE. */
export const DEFAULT_LOCK_TIMEOUT_MS = 5_000;
/** Routers and member reports not refreshed for this long are dropped from the file at the next write. */
export const DEFAULT_PRUNE_AFTER_MS = 10 * 60_000;

export const FileControlStoreOptionsSchema = z
  .object({
    /** The control file. Give this or `dataDir`. */
    path: z.string().min(1).optional(),
    /** Directory holding `control.json` (CONTROL_FILE_NAME); the form routers used before `path` existed. */
    dataDir: z.string().min(1).optional(),
    /**
     * Room whose home mode topics of a version 1 file (written before topic modes existed) get when the file is
     * migrated; usually the room of the router that owned the file. Required only to open such a file.
     */
    legacyHomeRoom: z.string().min(1).optional(),
    pollIntervalMs: z.number().int().positive().default(DEFAULT_FILE_POLL_INTERVAL_MS),
    heartbeatPersistMs: z.number().int().nonnegative().default(DEFAULT_HEARTBEAT_PERSIST_MS),
    staleLockMs: z.number().int().positive().default(DEFAULT_STALE_LOCK_MS),
    lockTimeoutMs: z.number().int().positive().default(DEFAULT_LOCK_TIMEOUT_MS),
    pruneAfterMs: z.number().int().positive().default(DEFAULT_PRUNE_AFTER_MS),
    /** pino logger; the store logs through `logger.child({ component: 'file-control-store' })`. Silent by default. */
    logger: z.custom<Logger>(isLogger, 'expected a pino logger').optional(),
  })
  .strict()
  .superRefine((options, ctx) => {
    if ((options.path === undefined) === (options.dataDir === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['path'], message: 'give exactly one of path (the control file) and dataDir (its directory)' });
    }
  });

export type FileControlStoreOptions = z.input<typeof FileControlStoreOptionsSchema>;
type ResolvedOptions = z.output<typeof FileControlStoreOptionsSchema>;

/** Which version of the file the cache holds; a rename gives a new inode, so every write changes it. */
interface FileIdentity {
  ino: number;
  size: number;
  mtimeMs: number;
}

/** Numbers the lock temp files of this process (tryLock). */
let lockTempSeq = 0;

interface LockHolder {
  pid: number;
  host: string;
  acquiredAtMs: number;
}

/** The lock file this process created: its inode tells it from a lock another process took after breaking it. */
interface HeldLock {
  ino: number;
}

/**
 * The embedded ControlStore: the whole state in one JSON file (format in control-file-format.ts), shared by the
 * router processes of one machine (`roomq local` runs dc1's and dc2's routers on one file).
 *
 * Every change takes an exclusive lock file next to the control file (`<path>.lock`, created with O_EXCL),
 * re-reads the file under it, applies the change to what it read, and writes temp + fsync + rename + fsync of
 * the directory; so changes of concurrent processes never overwrite each other, create-if-absent and
 * compare-and-set hold across processes, and a crash leaves the old or the new state, never a torn one. A lock
 * left by a crashed process (its pid is dead, or it is older than staleLockMs) is broken with a warning.
 *
 * Reads come from memory. Other processes' changes are found by checking the file every pollIntervalMs and
 * diffing the reloaded state into precise change events. A write that fails makes the store `degraded`: it
 * refuses changes with UNAVAILABLE and skips heartbeats, and retries a write every poll until one succeeds.
 */
export class FileControlStore extends CachedControlStore {
  readonly description: string;
  readonly path: string;
  protected readonly logger: Logger;
  private readonly dir: string;
  private readonly lockPath: string;
  private readonly options: ResolvedOptions;
  private known: FileIdentity | undefined;
  private pollQueued = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private lastPersistMs = 0;
  /** Reports of this process not yet written (they only moved timestamps); applied on top of every re-read. */
  private pendingRouters = new Map<string, RouterRecord>();
  private pendingMembers = new Map<string, { group: string; router: string; members: GroupMember[] }>();
  private tempSeq = 0;

  /** `options` may be the data directory alone (the file is then `<dataDir>/control.json`). */
  constructor(options: FileControlStoreOptions | string) {
    super();
    this.options = parseConfig(FileControlStoreOptionsSchema, typeof options === 'string' ? { dataDir: options } : options, 'file control store options');
    this.path = this.options.path ?? join(this.options.dataDir!, CONTROL_FILE_NAME);
    this.dir = dirname(this.path);
    this.lockPath = `${this.path}.lock`;
    this.description = `file ${this.path}`;
    this.logger = (this.options.logger ?? pino({ level: 'silent' })).child({ component: 'file-control-store', path: this.path });
  }

  protected get refreshIntervalMs(): number {
    return this.options.pollIntervalMs;
  }

  protected override get subject(): string {
    return this.path;
  }

  protected async readTopic(name: string): Promise<TopicConfig | undefined> {
    // Renames replace the file whole, so an unlocked read sees one consistent state.
    const read = await this.readFileState().catch(() => undefined);
    const topic = read?.state.topics.get(name);
    return topic && { ...topic };
  }

  protected release(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
  }

  protected unavailableError(reason: string): RoomqError {
    return new RoomqError(
      'UNAVAILABLE',
      `the control store (${this.description}) is unavailable: ${reason}; routers keep serving the last known state; retry when it is writable again`,
      { details: { path: this.path } },
    );
  }

  async createTopicIfAbsent(topic: NewTopic): Promise<CreateTopicOutcome> {
    this.assertWritable();
    return this.mutate((draft) => {
      const existing = draft.topics.get(topic.name);
      if (existing) return { created: false, topic: { ...existing } };
      const stored: TopicConfig = { name: topic.name, queuesPerBroker: topic.queuesPerBroker, mode: topic.mode, createdAtMs: topic.createdAtMs, version: 1 };
      draft.topics.set(topic.name, stored);
      return { created: true, topic: { ...stored } };
    });
  }

  async setTopicMode(name: string, mode: TopicMode, expectedVersion: number): Promise<TopicConfig> {
    this.assertWritable();
    return this.mutate((draft) => {
      const existing = draft.topics.get(name);
      if (!existing) throw new RoomqError('TOPIC_NOT_FOUND', `topic ${name} does not exist`, { details: { topic: name } });
      if (existing.version !== expectedVersion) {
        throw new RoomqError('VERSION_CONFLICT', `topic ${name} changed meanwhile (version ${existing.version}, expected ${expectedVersion}); read it again and retry`, {
          details: { topic: name, currentVersion: existing.version },
        });
      }
      const updated: TopicConfig = { ...existing, mode, version: existing.version + 1 };
      draft.topics.set(name, updated);
      return { ...updated };
    });
  }

  /** One locked read-apply-write of the file: all of the change lands in one rename, or none of it. */
  async applyControl(change: ControlTransition): Promise<ControlTransitionOutcome> {
    this.assertWritable();
    validateTransition(change);
    return this.mutate((draft) => applyTransition(draft, change, Date.now()));
  }

  /** One locked read-apply-write, like applyControl. */
  async applyMigration(change: MigrationChange): Promise<MigrationChangeOutcome> {
    this.assertWritable();
    validateMigrationChange(change);
    return this.mutate((draft) => applyMigrationTransition(draft, change, Date.now()));
  }

  async heartbeatRouter(router: RouterRecord): Promise<void> {
    if (!this.acceptsReports()) return;
    const record = { name: router.name, room: router.room, endpoint: router.endpoint, lastSeenMs: router.lastSeenMs };
    const cached = this.state.routers.get(router.name);
    this.pendingRouters.set(router.name, record);
    if (cached && cached.room === router.room && cached.endpoint === router.endpoint) {
      this.state.routers.set(router.name, record);
      this.scheduleFlush();
      return;
    }
    await this.flush();
  }

  async publishMembers(router: string, group: string, members: GroupMember[]): Promise<void> {
    if (!this.acceptsReports()) return;
    const list = members.map((m) => ({ clientId: m.clientId, room: m.room, router, lastSeenMs: m.lastSeenMs, ...(m.info === undefined ? {} : { info: m.info }) }));
    const cached = this.state.members.get(group)?.get(router);
    this.pendingMembers.set(`${group}\n${router}`, { group, router, members: list });
    if (cached && membersFingerprint(new Map([[router, cached]])) === membersFingerprint(new Map([[router, list]]))) {
      setMembers(this.state, group, router, list);
      this.scheduleFlush();
      return;
    }
    await this.flush();
  }

  protected async load(): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true });
    } catch (err) {
      throw new RoomqError('STORAGE_FAILED', `cannot create the directory ${this.dir} of the router control file: ${(err as Error).message}; check the path or dataDir option and its permissions`, {
        cause: err,
        retriable: false,
        details: { field: this.options.path === undefined ? 'dataDir' : 'path' },
      });
    }
    this.pendingRouters.clear();
    this.pendingMembers.clear();
    this.forgetOutage();
    await this.removeLeftovers();
    const loaded = await this.readFileState();
    this.state = loaded?.state ?? emptyControlState();
    this.known = loaded?.identity;
    if (loaded && loaded.fileVersion < CONTROL_FILE_VERSION) {
      // Rewrite in the current format at once, so every process sharing the file sees the same migrated modes.
      await this.withLock(async () => {
        const again = await this.readFileState();
        if (!again || again.fileVersion >= CONTROL_FILE_VERSION) return;
        await this.persist(again.state);
        this.state = again.state;
        this.known = await this.identity();
        this.logger.info({ fromVersion: again.fileVersion, toVersion: CONTROL_FILE_VERSION, legacyHomeRoom: this.options.legacyHomeRoom, topics: again.state.topics.size }, 'migrated the control file');
      });
    }
  }

  /**
   * Reads and decodes the file with the identity of the version read; undefined when it does not exist.
   * Throws a RoomqError naming the path when it cannot be read or is corrupt.
   */
  private async readFileState(): Promise<{ state: ControlState; fileVersion: number; identity: FileIdentity } | undefined> {
    let text: string;
    let identity: FileIdentity;
    try {
      const handle = await open(this.path, 'r');
      try {
        const info = await handle.stat();
        identity = { ino: info.ino, size: info.size, mtimeMs: info.mtimeMs };
        text = await handle.readFile('utf8');
      } finally {
        await handle.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new RoomqError('STORAGE_FAILED', `cannot read the router control file ${this.path}: ${(err as Error).message}`, { cause: err, retriable: false });
    }
    try {
      const decoded = decodeControlFile(text, { legacyHomeRoom: this.options.legacyHomeRoom });
      return { ...decoded, identity };
    } catch (err) {
      if (err instanceof LegacyHomeRoomRequired) {
        throw new RoomqError(
          'CONFIG_INVALID',
          `router control file ${this.path} ${err.message}; give the control store legacyHomeRoom (the room its router ran in, e.g. dc1) so they become home:<room> topics`,
          { cause: err, retriable: false, details: { field: 'legacyHomeRoom' } },
        );
      }
      throw new RoomqError(
        'STORAGE_FAILED',
        `router control file ${this.path} is corrupt: ${(err as Error).message}; restore it from a backup, or move it aside to start with no topics`,
        { cause: err, retriable: false },
      );
    }
  }

  private async identity(): Promise<FileIdentity | undefined> {
    try {
      const info = await stat(this.path);
      return { ino: info.ino, size: info.size, mtimeMs: info.mtimeMs };
    } catch {
      return undefined;
    }
  }

  /**
   * Runs `apply` on the file's current state under the lock and writes the result if it differs (or `force`).
   * The cache then holds what the file holds, and listeners hear every difference, this process's or not.
   */
  private mutate<T>(apply: (draft: ControlState) => T, force = false): Promise<T> {
    return this.serially(async () => {
      this.assertOpen();
      let outcome = { ok: false, error: undefined } as { ok: true; value: T } | { ok: false; error: unknown };
      let next: ControlState | undefined;
      await this.withLock(async () => {
        const read = await this.readFileState().catch((err: unknown) => {
          this.degrade((err as Error).message);
          throw err;
        });
        // A file deleted under running routers is rewritten from the cache rather than emptied.
        const base = read?.state ?? copyControlState(this.state);
        const draft = copyControlState(base);
        const nowMs = Date.now();
        // Reports arriving while this write is under way stay pending for the next one.
        const appliedRouters = new Map(this.pendingRouters);
        const appliedMembers = new Map(this.pendingMembers);
        this.applyPending(draft);
        try {
          outcome = { ok: true, value: apply(draft) };
        } catch (err) {
          outcome = { ok: false, error: err };
        }
        const pruned = pruneControlState(draft, nowMs - this.options.pruneAfterMs);
        const changed = pruned || read === undefined || encodeControlFile(draft) !== encodeControlFile(base);
        if (changed || force) {
          try {
            await this.persist(draft);
          } catch (err) {
            this.degrade((err as RoomqError).message);
            throw new RoomqError(
              'UNAVAILABLE',
              `the control store (${this.description}) cannot be written: ${((err as RoomqError).cause as Error | undefined)?.message ?? (err as Error).message}; routers keep serving the last known state; free disk space or fix permissions, the store retries by itself`,
              { cause: err, details: { path: this.path } },
            );
          }
          this.known = await this.identity();
          this.lastPersistMs = nowMs;
          for (const [name, record] of appliedRouters) if (this.pendingRouters.get(name) === record) this.pendingRouters.delete(name);
          for (const [key, report] of appliedMembers) if (this.pendingMembers.get(key) === report) this.pendingMembers.delete(key);
        } else {
          this.known = read?.identity;
        }
        next = draft;
      });
      this.replaceState(next!);
      // Assigned inside the locked step, which the compiler cannot follow.
      const settled = outcome as { ok: true; value: T } | { ok: false; error: unknown };
      if (!settled.ok) throw settled.error;
      return settled.value;
    });
  }

  private applyPending(draft: ControlState): void {
    for (const record of this.pendingRouters.values()) draft.routers.set(record.name, record);
    for (const { group, router, members } of this.pendingMembers.values()) setMembers(draft, group, router, members);
  }

  /** Reports not yet written stay visible to this process's readers whatever the file says. */
  protected override replaceState(next: ControlState): void {
    this.applyPending(next);
    super.replaceState(next);
  }

  /** Writes the pending reports now (and whatever else the file needs, e.g. pruning). */
  private async flush(force = false): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    await this.mutate(() => undefined, force);
  }

  private scheduleFlush(): void {
    if (this.flushTimer) return;
    const delayMs = Math.max(0, this.lastPersistMs + this.options.heartbeatPersistMs - Date.now());
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      if (!this.acceptsReports()) return;
      this.flush().catch((err: unknown) => this.logger.warn({ err }, 'writing heartbeats to the control file failed'));
    }, delayMs);
    this.flushTimer.unref();
  }

  /** One poll tick: reload if another process wrote the file, or, while degraded, try a write. */
  protected refresh(): void {
    if (this.pollQueued || !this.isOpen()) return;
    this.pollQueued = true;
    if (this.isDegraded()) {
      this.flush(true).then(
        () => {
          this.pollQueued = false;
          this.recover();
        },
        () => {
          this.pollQueued = false;
        },
      );
      return;
    }
    this.serially(async () => {
      this.pollQueued = false;
      if (!this.isOpen()) return;
      const now = await this.identity();
      if (now === undefined || sameIdentity(now, this.known)) return;
      let read;
      try {
        read = await this.readFileState();
      } catch (err) {
        this.degrade((err as Error).message);
        return;
      }
      if (!read) return;
      this.known = read.identity;
      this.replaceState(read.state);
    }).catch((err: unknown) => {
      this.pollQueued = false;
      this.logger.warn({ err }, 'checking the control file for changes failed');
    });
  }

  private async withLock<T>(step: () => Promise<T>): Promise<T> {
    const lock = await this.acquireLock();
    try {
      return await step();
    } finally {
      await this.releaseLock(lock);
    }
  }

  private async acquireLock(): Promise<HeldLock> {
    const deadlineMs = Date.now() + this.options.lockTimeoutMs;
    let waitMs = 1;
    for (;;) {
      let held: HeldLock | undefined;
      try {
        held = await this.tryLock();
      } catch (err) {
        const reason = `cannot create the lock file ${this.lockPath}: ${(err as Error).message}`;
        this.degrade(reason);
        throw new RoomqError('UNAVAILABLE', `the control store (${this.description}) cannot be written: ${reason}; routers keep serving the last known state; fix the directory, the store retries by itself`, {
          cause: err,
          details: { path: this.path },
        });
      }
      if (held) return held;
      if (await this.breakLockIfStale()) continue;
      if (Date.now() >= deadlineMs) {
        const holder = await this.readLockHolder();
        throw new RoomqError(
          'UNAVAILABLE',
          `the control file ${this.path} stayed locked for ${this.options.lockTimeoutMs} ms by ${holder ? `pid ${holder.pid} on ${holder.host}` : 'another process'}; retry, or remove ${this.lockPath} if no router is running`,
          { details: { path: this.lockPath } },
        );
      }
      // Writers hold the lock for a few milliseconds; back off with jitter so two processes do not collide in step.
      await new Promise((resolve) => setTimeout(resolve, waitMs + Math.random() * waitMs));
      waitMs = Math.min(waitMs * 2, 50);
    }
  }

  /**
   * Removes the temp files (`<file>.tmp-<pid>-<n>`, `<file>.lock.new-<pid>-<n>`) of processes of this host that
   * died between creating and renaming or removing them. A live process's are left alone.
   */
  private async removeLeftovers(): Promise<void> {
    const prefixes = [`${basename(this.path)}.tmp-`, `${basename(this.lockPath)}.new-`];
    const names = await readdir(this.dir).catch(() => [] as string[]);
    for (const name of names) {
      const prefix = prefixes.find((p) => name.startsWith(p));
      if (prefix === undefined) continue;
      const pid = Number(name.slice(prefix.length).split('-')[0]);
      if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || processAlive(pid)) continue;
      await unlink(join(this.dir, name)).catch(() => undefined);
      this.logger.info({ file: name, pid }, 'removed a temp file of a router that died while writing the control file');
    }
  }

  /**
   * Takes the lock if it is free: the holder is written to a file of its own, which is then hard-linked to the
   * lock's name (link fails when that name exists, as O_EXCL does). So the lock never exists without its
   * holder: one created empty and filled after, as before, stayed empty when its router was killed in between,
   * and every other router then waited staleLockMs for it (a room cut right after a room was killed took 10 s).
   */
  private async tryLock(): Promise<HeldLock | undefined> {
    // Numbered per process, not per store: two stores of one process on one file must not share a temp file.
    const temp = `${this.lockPath}.new-${process.pid}-${++lockTempSeq}`;
    const holder: LockHolder = { pid: process.pid, host: hostname(), acquiredAtMs: Date.now() };
    try {
      await writeFile(temp, JSON.stringify(holder));
      try {
        await link(temp, this.lockPath);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
        throw err;
      }
      return { ino: (await stat(temp)).ino };
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }

  private async readLockHolder(): Promise<LockHolder | undefined> {
    try {
      const parsed = JSON.parse(await readFile(this.lockPath, 'utf8')) as Partial<LockHolder>;
      return typeof parsed.pid === 'number' && typeof parsed.host === 'string' ? (parsed as LockHolder) : undefined;
    } catch {
      return undefined;
    }
  }

  /** True when the lock is gone or was broken (try again at once); false when a live holder has it. */
  private async breakLockIfStale(): Promise<boolean> {
    let info;
    try {
      info = await stat(this.lockPath);
    } catch {
      return true;
    }
    const holder = await this.readLockHolder();
    const ageMs = Date.now() - info.mtimeMs;
    const deadHolder = holder !== undefined && holder.host === hostname() && holder.pid !== process.pid && !processAlive(holder.pid);
    if (ageMs <= this.options.staleLockMs && !deadHolder) return false;
    // Move it aside first: rename is atomic, so of two processes breaking the same lock only one succeeds.
    const aside = `${this.lockPath}.broken-${process.pid}-${++this.tempSeq}`;
    try {
      await rename(this.lockPath, aside);
    } catch {
      return true;
    }
    try {
      const moved = await stat(aside);
      if (moved.ino !== info.ino) {
        // Someone replaced the stale lock between our look and the rename: that lock is live, put it back.
        await link(aside, this.lockPath).catch(() => undefined);
        return true;
      }
      this.logger.warn({ lock: this.lockPath, holderPid: holder?.pid, holderHost: holder?.host, ageMs, deadHolder }, 'broke a stale lock of the control file');
      return true;
    } finally {
      await unlink(aside).catch(() => undefined);
    }
  }

  private async releaseLock(lock: HeldLock): Promise<void> {
    try {
      const current = await stat(this.lockPath).catch(() => undefined);
      // Only remove the lock if it is still ours (a stuck write may have been declared stale and broken).
      if (current && current.ino === lock.ino) await unlink(this.lockPath);
    } catch (err) {
      this.logger.warn({ err, lock: this.lockPath }, 'releasing the control file lock failed');
    }
  }

  private async persist(state: ControlState): Promise<void> {
    const temp = `${this.path}.tmp-${process.pid}-${++this.tempSeq}`;
    try {
      const file = await open(temp, 'w');
      try {
        await file.writeFile(encodeControlFile(state), 'utf8');
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temp, this.path);
      await syncDirectory(this.dir);
    } catch (err) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw new RoomqError('STORAGE_FAILED', `cannot write the router control file ${this.path}: ${(err as Error).message}; check disk space and permissions of its directory`, {
        cause: err,
      });
    }
  }
}

function setMembers(state: ControlState, group: string, router: string, members: GroupMember[]): void {
  const byRouter = new Map(state.members.get(group) ?? []);
  if (members.length === 0) byRouter.delete(router);
  else byRouter.set(router, members);
  if (byRouter.size === 0) state.members.delete(group);
  else state.members.set(group, byRouter);
}

function sameIdentity(a: FileIdentity, b: FileIdentity | undefined): boolean {
  return b !== undefined && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Makes a rename durable. Some platforms cannot open directories; the rename is then as durable as they allow. */
async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
  } catch {
    return;
  }
  try {
    await handle.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM') throw err;
  } finally {
    await handle.close();
  }
}
