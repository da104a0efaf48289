/** A RocketMQ client seen through its heartbeats: who it is, which group, where it came from. */
export interface ClientView {
  clientId: string;
  /** Consumer group; empty for producers. */
  group: string;
  clientType: string;
  /** `ip:port` of the connection the last heartbeat came over. */
  peer: string;
  /** The `:authority` the client dialled, i.e. the access point it was configured with. */
  accessPoint: string;
  lastHeartbeatMs: number;
}

export interface ClientRegistryOptions {
  /** Clients silent this long are forgotten; the official client heartbeats every 10 s. */
  forgetAfterMs: number;
  /** Upper bound on remembered clients, so a misbehaving fleet cannot grow router memory without limit. */
  maxClients: number;
  now?: () => number;
}

/**
 * Clients known from their heartbeats, keyed by `x-mq-client-id` (never by connection: one process shares one
 * HTTP/2 connection among all its clients). Room-aware routing and consumer assignment will read it.
 */
export class ClientRegistry {
  private readonly clients = new Map<string, ClientView>();
  private readonly now: () => number;

  constructor(private readonly options: ClientRegistryOptions) {
    this.now = options.now ?? Date.now;
  }

  touch(client: Omit<ClientView, 'lastHeartbeatMs'>): void {
    // Delete first so Map order is least-recently-seen first, which makes eviction cheap.
    this.clients.delete(client.clientId);
    this.clients.set(client.clientId, { ...client, lastHeartbeatMs: this.now() });
    if (this.clients.size > this.options.maxClients) {
      const oldest = this.clients.keys().next();
      if (!oldest.done) this.clients.delete(oldest.value);
    }
  }

  remove(clientId: string): void {
    this.clients.delete(clientId);
  }

  sweep(): void {
    const cutoff = this.now() - this.options.forgetAfterMs;
    for (const [id, client] of this.clients) {
      if (client.lastHeartbeatMs >= cutoff) break;
      this.clients.delete(id);
    }
  }

  list(): ClientView[] {
    return [...this.clients.values()];
  }

  get size(): number {
    return this.clients.size;
  }
}
