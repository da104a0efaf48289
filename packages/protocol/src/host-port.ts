/** `host:port` strings as brokers and configs carry them. IPv6 literals are written `[::1]:8081`. */

export interface HostPort {
  host: string;
  port: number;
}

const HOST_PORT_RE = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/;
const IPV4_RE = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Parses `host:port`; returns undefined when the text is not one (port outside 0-65535 included). */
export function parseHostPort(text: string): HostPort | undefined {
  const match = HOST_PORT_RE.exec(text);
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port > 65535) return undefined;
  return { host: match[1] ?? match[2]!, port };
}

/** The inverse of parseHostPort: brackets an IPv6 host. */
export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export type HostKind = 'ipv4' | 'ipv6' | 'domain';

export function hostKind(host: string): HostKind {
  if (IPV4_RE.test(host)) return 'ipv4';
  if (host.includes(':')) return 'ipv6';
  return 'domain';
}
