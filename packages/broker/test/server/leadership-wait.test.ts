import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseBrokerConfig } from '../../src/server/broker-config.js';
import { GroupControlView } from '../../src/server/group-control-view.js';
import { Leadership } from '../../src/server/leadership.js';
import { Quarantine } from '../../src/server/quarantine.js';
import { ReplicationRole } from '../../src/server/replication-role.js';
import { WriteLease } from '../../src/server/write-lease.js';
import { openStore, request, tempDir } from '../store/helpers.js';

const silent = pino({ level: 'silent' });
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!().catch(() => undefined);
});

describe('a configured master waiting to hear whether it still leads', () => {
  it('takes no write into its log: a commit is refused until it leads', async () => {
    const dataDir = await tempDir();
    const store = await openStore({ dataDir, segmentSizeBytes: 256 * 1024 });
    await store.appendMessages([request({ topic: 't', queueId: 0, body: 'before the restart' })]);
    const config = parseBrokerConfig({ group: 'broker-a', memberId: 0, room: 'dc1', role: 'master', routers: ['127.0.0.1:1'], dataDir, segmentSizeBytes: 256 * 1024 });
    const quarantine = new Quarantine(dataDir, silent);
    await quarantine.load();
    const role = new ReplicationRole(config, store, quarantine, silent);
    closers.push(() => role.close());
    const control = new GroupControlView();
    const lease = new WriteLease(60_000);
    const leadership = new Leadership(config, store, role, control, lease, silent, () => undefined);

    // No router has answered: it may have been replaced while it was down.
    await leadership.reconcile();
    expect(leadership.actingRole()).toBe('slave');
    expect(leadership.writeRefusal()?.code).toBe('NOT_LEADER');
    // Its store is still a master's: a consumer's commit would go into a log the group may have replaced.
    expect(leadership.commitRefusal()).toMatchObject({ code: 'NOT_LEADER', message: expect.stringContaining('does not lead group broker-a') });

    // The routers say it still leads (epoch 1): commits go into its log again.
    control.apply([], { group: 'broker-a', epoch: 1, leader: 'broker-a/0@dc1', frozen: false, version: 1 } as never, []);
    lease.grant('dc1', Date.now(), 60_000, true);
    await leadership.reconcile();
    expect(leadership.actingRole()).toBe('master');
    expect(leadership.commitRefusal()).toBeUndefined();

    // Told another member leads: it follows, its store a replica, and takes commits into its overlay.
    control.apply([], { group: 'broker-a', epoch: 2, leader: 'broker-a/1@dc2', frozen: false, version: 2 } as never, [{ name: 'broker-a/1@dc2', room: 'dc2', endpoint: '127.0.0.1:1', alive: true, configured_role: 'slave' } as never]);
    await leadership.reconcile();
    expect(leadership.actingRole()).toBe('slave');
    expect(store.role).toBe('replica');
    expect(leadership.commitRefusal()).toBeUndefined();
  });
});
