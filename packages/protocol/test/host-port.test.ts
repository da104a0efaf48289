import { describe, expect, it } from 'vitest';
import { formatHostPort, hostKind, parseHostPort } from '../src/host-port.js';

describe('host:port', () => {
  it('parses names, IPv4 and bracketed IPv6, and formats them back', () => {
    for (const text of ['localhost:9876', '10.0.0.1:0', '[::1]:8081']) expect(formatHostPort(parseHostPort(text)!)).toBe(text);
    expect(parseHostPort('[::1]:8081')).toEqual({ host: '::1', port: 8081 });
  });

  it('refuses what is not host:port', () => {
    for (const text of ['9876', 'host:', 'host:99999', 'a b:1', '::1:80']) expect(parseHostPort(text)).toBeUndefined();
  });

  it('tells IPv4, IPv6 and domain hosts apart', () => {
    expect([hostKind('10.1.2.3'), hostKind('::1'), hostKind('broker-a.dc1'), hostKind('999.1.1.1')]).toEqual(['ipv4', 'ipv6', 'domain', 'domain']);
  });
});
