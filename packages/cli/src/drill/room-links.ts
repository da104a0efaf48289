import { LinkProxy, type LinkStats } from '@roomq/room-link';

/** One link between the rooms: who uses it, and where it leads. */
export interface RoomLinkInfo {
  name: string;
  /** The room whose process dials through the link. */
  fromRoom: string;
  /** The room (or `redis`) at the far end. */
  toRoom: string;
  target: string;
  /** `host:port` that the dialing process is configured with instead of the target. */
  endpoint: string;
}

/**
 * Every cross-room connection of a partition drill runs through one of these proxies, so cutting them all is
 * a partition of the rooms as the servers see it: replication between rooms, heartbeats to the other room's
 * router and the cut room's router's control store connection. Clients are not proxied (they stand for
 * services that can reach both rooms).
 */
export class RoomLinks {
  private readonly links: Array<{ info: RoomLinkInfo; proxy: LinkProxy }> = [];
  private closing: Promise<void> | undefined;

  /** Opens a proxy to `target`; returns the endpoint to configure instead. */
  async open(name: string, fromRoom: string, toRoom: string, target: string): Promise<string> {
    const proxy = new LinkProxy({ name, listen: '127.0.0.1:0', target });
    const { port } = await proxy.start();
    const endpoint = `127.0.0.1:${port}`;
    this.links.push({ info: { name, fromRoom, toRoom, target, endpoint }, proxy });
    return endpoint;
  }

  /** Blackholes every link: connections stay open and go silent, as a partitioned WAN link. */
  cutAll(): void {
    for (const { proxy } of this.links) proxy.cut({ mode: 'blackhole' });
  }

  restoreAll(): void {
    for (const { proxy } of this.links) proxy.restore();
  }

  list(): Array<RoomLinkInfo & LinkStats> {
    return this.links.map(({ info, proxy }) => ({ ...info, ...proxy.stats() }));
  }

  get size(): number {
    return this.links.length;
  }

  /** Idempotent; each proxy is closed even when another fails. */
  close(): Promise<void> {
    this.closing ??= Promise.allSettled(this.links.map(({ proxy }) => proxy.close())).then(() => undefined);
    return this.closing;
  }
}
