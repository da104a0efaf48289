import { describe, expect, it } from 'vitest';
import { parseBrokerConfig } from '../../src/server/broker-config.js';
import { GroupControlView } from '../../src/server/group-control-view.js';
import { roleTarget } from '../../src/server/role-target.js';

// broker-a: master dc1 -> slave dc2 -> slave dc2, as roomq local runs it.
const MEMBERS = [
  { name: 'broker-a/0@dc1', room: 'dc1', endpoint: '127.0.0.1:1000', alive: true, flushed_offset: 100, configured_role: 'master' },
  { name: 'broker-a/1@dc2', room: 'dc2', endpoint: '127.0.0.1:1001', alive: true, flushed_offset: 100, configured_role: 'slave' },
  { name: 'broker-a/2@dc2', room: 'dc2', endpoint: '127.0.0.1:1002', alive: true, flushed_offset: 100, configured_role: 'slave' },
];
const base = { group: 'broker-a', routers: ['127.0.0.1:9876'], dataDir: 'x', replicationMode: 'sync:1' };
const master = parseBrokerConfig({ ...base, memberId: 0, room: 'dc1', role: 'master', chain: ['broker-a/1@dc2', 'broker-a/2@dc2'] });
const slave1 = parseBrokerConfig({ ...base, memberId: 1, room: 'dc2', role: 'slave', upstream: '127.0.0.1:1000' });
const slave2 = parseBrokerConfig({ ...base, memberId: 2, room: 'dc2', role: 'slave', upstream: '127.0.0.1:1001' });

function view(rooms: Array<{ room: string; status: string; version: number }>, group?: { epoch: number; leader: string; frozen?: boolean; version: number }): GroupControlView {
  const v = new GroupControlView();
  v.apply(rooms, group ? { group: 'broker-a', ...group } : undefined, MEMBERS);
  return v;
}

describe('roleTarget', () => {
  it('keeps the configured chain while the configured master leads', () => {
    const v = view([]);
    expect(roleTarget(master, 'broker-a/0@dc1', v.current, true)).toEqual({ kind: 'lead', epoch: 1, acting: false, chain: ['broker-a/1@dc2', 'broker-a/2@dc2'] });
    expect(roleTarget(slave2, 'broker-a/2@dc2', v.current, true)).toEqual({ kind: 'follow', upstream: '127.0.0.1:1001', leader: 'broker-a/0@dc1', direct: false });
  });

  it('after a cut of dc1: the acting master leads the next epoch with the surviving replica as its sync chain, the others follow it directly', () => {
    const v = view([{ room: 'dc1', status: 'cut', version: 1 }], { epoch: 2, leader: 'broker-a/1@dc2', version: 1 });
    expect(roleTarget(slave1, 'broker-a/1@dc2', v.current, true)).toEqual({ kind: 'lead', epoch: 2, acting: true, chain: ['broker-a/2@dc2'] });
    // The same upstream, now the leader itself: a target of its own, so its reports go out at once again.
    expect(roleTarget(slave2, 'broker-a/2@dc2', v.current, true)).toEqual({ kind: 'follow', upstream: '127.0.0.1:1001', leader: 'broker-a/1@dc2', direct: true });
    expect(roleTarget(master, 'broker-a/0@dc1', v.current, true)).toEqual({ kind: 'follow', upstream: '127.0.0.1:1001', leader: 'broker-a/1@dc2', direct: true });
  });

  it('a configured master whose replicas are all in a cut room leads with none to wait for', () => {
    const v = view([{ room: 'dc2', status: 'cut', version: 1 }]);
    expect(roleTarget(master, 'broker-a/0@dc1', v.current, true)).toEqual({ kind: 'lead', epoch: 1, acting: false, chain: [] });
  });

  it('a late reply from a lagging router never undoes a newer leader', () => {
    const v = view([], { epoch: 3, leader: 'broker-a/0@dc1', version: 5 });
    v.apply([], { group: 'broker-a', epoch: 2, leader: 'broker-a/1@dc2', version: 4 }, []);
    expect(roleTarget(master, 'broker-a/0@dc1', v.current, true)).toMatchObject({ kind: 'lead', epoch: 3 });
  });

  it('follows the configured upstream, and never leads, until a router has answered', () => {
    const v = new GroupControlView();
    expect(roleTarget(master, 'broker-a/0@dc1', v.current, false)).toMatchObject({ kind: 'wait' });
    expect(roleTarget(slave1, 'broker-a/1@dc2', v.current, false)).toEqual({ kind: 'follow', upstream: '127.0.0.1:1000', leader: '', direct: true });
  });
});
