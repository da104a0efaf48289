import { describe, expect, it } from 'vitest';
import { compileRoomCidrs, ipv4OfPeer, parseIpv4Cidr, placeClient, roomPrefixOfClientId } from '../src/client-placement.js';

const cidrs = compileRoomCidrs([
  { cidr: '10.1.0.0/16', room: 'dc1' },
  { cidr: '10.2.0.0/16', room: 'dc2' },
  { cidr: '10.1.99.0/24', room: 'dc2' },
]);
const knownRooms = new Set(['dc1', 'dc2']);
const place = (clientId: string | undefined, peer: string | undefined) => placeClient({ clientId, peer, knownRooms, cidrs, routerRoom: 'dc1' });

describe('client placement', () => {
  it('takes the room prefix of a roomq client ID when it is a known room', () => {
    expect(place('dc2@host@42@1', '10.1.0.7:5000')).toEqual({ room: 'dc2', source: 'client-id' });
  });

  it('ignores an ID prefix that is no known room (other clients start their ID with the host name)', () => {
    expect(place('web-3@42@1@lz0', '10.2.0.7:5000')).toEqual({ room: 'dc2', source: 'cidr' });
    expect(place('dc9@host@1@1', '192.168.0.1:5000')).toEqual({ room: 'dc1', source: 'router' });
  });

  it('maps the peer address by the most specific range', () => {
    expect(place(undefined, '10.1.99.3:5000')).toEqual({ room: 'dc2', source: 'cidr' });
    expect(place(undefined, '10.1.98.3:5000')).toEqual({ room: 'dc1', source: 'cidr' });
    expect(place(undefined, '[::ffff:10.2.3.4]:5000')).toEqual({ room: 'dc2', source: 'cidr' });
  });

  it("falls back to the router's room", () => {
    expect(place(undefined, undefined)).toEqual({ room: 'dc1', source: 'router' });
    expect(place('', '[::1]:5000')).toEqual({ room: 'dc1', source: 'router' });
    expect(place('nohost', '172.16.0.1:1')).toEqual({ room: 'dc1', source: 'router' });
  });

  it('parses peers, CIDRs and client IDs strictly', () => {
    expect(ipv4OfPeer('127.0.0.1:5000')).toBe(0x7f000001);
    expect(ipv4OfPeer('ipv4:127.0.0.1:5000')).toBe(0x7f000001);
    expect(ipv4OfPeer('255.255.255.255')).toBe(0xffffffff);
    expect(ipv4OfPeer('[::1]:5000')).toBeUndefined();
    expect(ipv4OfPeer('256.0.0.1:1')).toBeUndefined();
    expect(parseIpv4Cidr('10.1.2.3/16')).toEqual({ network: 0x0a010000, prefixBits: 16 });
    expect(parseIpv4Cidr('0.0.0.0/0')).toEqual({ network: 0, prefixBits: 0 });
    expect(parseIpv4Cidr('10.0.0.0/33')).toBeUndefined();
    expect(parseIpv4Cidr('10.0.0.0')).toBeUndefined();
    expect(parseIpv4Cidr('10.0.0/8')).toBeUndefined();
    expect(roomPrefixOfClientId('dc1@h@1@2')).toBe('dc1');
    expect(roomPrefixOfClientId('@h')).toBeUndefined();
  });

  it('matches everything with /0 and one address with /32', () => {
    const table = compileRoomCidrs([
      { cidr: '0.0.0.0/0', room: 'dc1' },
      { cidr: '192.168.1.5/32', room: 'dc2' },
    ]);
    const at = (peer: string) => placeClient({ clientId: undefined, peer, knownRooms, cidrs: table, routerRoom: 'dc3' }).room;
    expect(at('192.168.1.5:1')).toBe('dc2');
    expect(at('192.168.1.6:1')).toBe('dc1');
  });
});
