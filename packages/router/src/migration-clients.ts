import type { Logger } from 'pino';
import type { ControlStore, GroupMember } from './control-store.js';
import { decodeClientInfo, encodeClientInfo, MIGRATION_CLIENTS_PREFIX, type MigrationClientInfo } from './topic-migration.js';

/** Clients silent this long no longer count (they heartbeat every second). */
export const MIGRATION_CLIENT_MAX_AGE_MS = 5000;
/** A topic's list is written to the store at most this often per router unless a client's state changed. */
const PUBLISH_EVERY_MS = 500;

interface Entry extends MigrationClientInfo {
  room: string;
  lastSeenMs: number;
}

export interface MigrationClient extends MigrationClientInfo {
  clientId: string;
  room: string;
  router: string;
  lastSeenMs: number;
}

/**
 * Which producers and consumers use which topic, with each producer's settled migration switch, as this router
 * hears them in ClientHeartbeats; shared with the other routers through the control store's member lists under
 * the reserved group `#clients:<topic>`, so any router can tell which clients still use an old route.
 */
export class MigrationClients {
  private readonly byTopic = new Map<string, Map<string, Entry>>();
  private readonly published = new Map<string, { atMs: number; fingerprint: string }>();

  constructor(
    private readonly store: ControlStore,
    private readonly routerName: string,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records what one heartbeat said about `topics`; publishes the topics whose view changed or aged. */
  heard(clientId: string, room: string, uses: ReadonlyArray<{ topic: string; info: MigrationClientInfo }>): void {
    const nowMs = this.now();
    for (const { topic, info } of uses) {
      const clients = this.byTopic.get(topic) ?? new Map<string, Entry>();
      this.byTopic.set(topic, clients);
      clients.set(clientId, { ...info, room, lastSeenMs: nowMs });
      this.publish(topic, nowMs);
    }
  }

  /** Every live client of `topic`: the shared view, with this router's own newer reports on top. */
  async list(topic: string): Promise<MigrationClient[]> {
    let shared: GroupMember[] = [];
    try {
      shared = await this.store.listMembers(MIGRATION_CLIENTS_PREFIX + topic, MIGRATION_CLIENT_MAX_AGE_MS);
    } catch (err) {
      this.logger.debug({ err, topic }, 'cannot list the clients of a topic; using this router\'s own');
    }
    const byId = new Map<string, MigrationClient>();
    for (const m of shared) {
      const info = decodeClientInfo(m.info);
      if (info) byId.set(m.clientId, { ...info, clientId: m.clientId, room: m.room, router: m.router, lastSeenMs: m.lastSeenMs });
    }
    for (const m of this.local(topic)) {
      const seen = byId.get(m.clientId);
      if (!seen || seen.lastSeenMs <= m.lastSeenMs) byId.set(m.clientId, m);
    }
    return [...byId.values()].sort((a, b) => (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0));
  }

  private local(topic: string): MigrationClient[] {
    const cutoff = this.now() - MIGRATION_CLIENT_MAX_AGE_MS;
    const clients = this.byTopic.get(topic);
    if (!clients) return [];
    const out: MigrationClient[] = [];
    for (const [clientId, e] of clients) {
      if (e.lastSeenMs < cutoff) {
        clients.delete(clientId);
        continue;
      }
      out.push({ clientId, kind: e.kind, group: e.group, settled: e.settled, room: e.room, router: this.routerName, lastSeenMs: e.lastSeenMs });
    }
    return out;
  }

  private publish(topic: string, nowMs: number): void {
    const members = this.local(topic).map((c): GroupMember => ({
      clientId: c.clientId,
      room: c.room,
      router: this.routerName,
      lastSeenMs: c.lastSeenMs,
      info: encodeClientInfo({ kind: c.kind, group: c.group, settled: c.settled }),
    }));
    const fingerprint = members.map((m) => `${m.clientId}\t${m.info}`).join('\n');
    const last = this.published.get(topic);
    if (last && last.fingerprint === fingerprint && nowMs - last.atMs < PUBLISH_EVERY_MS) return;
    this.published.set(topic, { atMs: nowMs, fingerprint });
    this.store.publishMembers(this.routerName, MIGRATION_CLIENTS_PREFIX + topic, members).catch((err: unknown) => {
      this.logger.debug({ err, topic }, 'cannot publish the clients of a topic');
    });
  }
}
