/**
 * Which room a client is in, decided without I/O. In order:
 * 1. the room prefix of its client ID (`<room>@host@pid@n`, the roomq SDK's format) when that prefix is a known
 *    room: other RocketMQ clients start their ID with the host name, which must not be mistaken for a room;
 * 2. the configured IPv4 range → room map, longest prefix first, on the connection's peer address;
 * 3. the router's own room (clients dial the router of their room).
 */

/** One entry of the `roomByCidr` option. */
export interface RoomCidr {
  /** IPv4 network, e.g. `10.1.0.0/16`. */
  cidr: string;
  room: string;
}

/** A RoomCidr parsed for matching. */
export interface CompiledCidr {
  network: number;
  prefixBits: number;
  room: string;
}

export type PlacementSource = 'client-id' | 'cidr' | 'router';

export interface Placement {
  room: string;
  /** Which rule placed the client, for logs. */
  source: PlacementSource;
}

export interface PlacementInput {
  clientId: string | undefined;
  /** `call.getPeer()`: `ip:port`, `[ipv6]:port` or a bare address. */
  peer: string | undefined;
  knownRooms: ReadonlySet<string>;
  cidrs: readonly CompiledCidr[];
  routerRoom: string;
}

export function placeClient(input: PlacementInput): Placement {
  const prefix = input.clientId === undefined ? undefined : roomPrefixOfClientId(input.clientId);
  if (prefix !== undefined && input.knownRooms.has(prefix)) return { room: prefix, source: 'client-id' };
  const ip = input.peer === undefined ? undefined : ipv4OfPeer(input.peer);
  if (ip !== undefined) {
    const room = roomOfIpv4(ip, input.cidrs);
    if (room !== undefined) return { room, source: 'cidr' };
  }
  return { room: input.routerRoom, source: 'router' };
}

/** The text before the first `@`, or undefined when the ID has no `@`. */
export function roomPrefixOfClientId(clientId: string): string | undefined {
  const at = clientId.indexOf('@');
  return at > 0 ? clientId.slice(0, at) : undefined;
}

/** Parses the entries and orders them longest prefix first, so the most specific range wins. */
export function compileRoomCidrs(entries: readonly RoomCidr[]): CompiledCidr[] {
  return entries
    .map((entry) => {
      const parsed = parseIpv4Cidr(entry.cidr);
      if (!parsed) throw new Error(`invalid IPv4 CIDR ${JSON.stringify(entry.cidr)}`);
      return { ...parsed, room: entry.room };
    })
    .sort((a, b) => b.prefixBits - a.prefixBits);
}

export function roomOfIpv4(ip: number, cidrs: readonly CompiledCidr[]): string | undefined {
  for (const cidr of cidrs) {
    if ((ip & maskOf(cidr.prefixBits)) >>> 0 === cidr.network) return cidr.room;
  }
  return undefined;
}

/** `a.b.c.d/n` → network (host bits cleared) and prefix length; undefined when malformed. */
export function parseIpv4Cidr(text: string): { network: number; prefixBits: number } | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIpv4(text.slice(0, slash));
  const bitsText = text.slice(slash + 1);
  if (ip === undefined || !/^\d{1,2}$/.test(bitsText)) return undefined;
  const prefixBits = Number(bitsText);
  if (prefixBits > 32) return undefined;
  return { network: (ip & maskOf(prefixBits)) >>> 0, prefixBits };
}

/** Dotted quad → unsigned 32-bit number; undefined when malformed. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/** The IPv4 address of a peer string, including IPv4-mapped IPv6 (`[::ffff:10.0.0.1]:5000`). */
export function ipv4OfPeer(peer: string): number | undefined {
  let host = peer.replace(/^ipv[46]:/, '');
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    host = end > 0 ? host.slice(1, end) : host;
  } else if (host.split(':').length === 2) {
    host = host.slice(0, host.indexOf(':'));
  }
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  return parseIpv4(mapped ? mapped[1]! : host);
}

function maskOf(prefixBits: number): number {
  return prefixBits === 0 ? 0 : (0xffffffff << (32 - prefixBits)) >>> 0;
}
