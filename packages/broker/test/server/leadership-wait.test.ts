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
  it('takes no write into its log: a commit goes to the overlay, and into the log only once it leads', async () => {
    const dataDir = await tempDir();
    const store = await openStore({ dataDir, segmentSizeBytes: 256 * 1024 });
    await store.appendMessages([request({ topic: 't', queueId: 0, body: 'before the restart' })]);
    const config = parseBrokerConfig({ group: 'broker-a', memberId: 0, room: 'dc1', role: 'master', routers: ['127.0.0.1:1'], dataDir, segmentSizeBytes: 256 * 1024 });
    const quarantine = new Quarantine(dataDir, silent);
    await quarantine.load();
    const role = new ReplicationRole(config, store, quarantine, silent);
    closers.push(() => role.close());
    const control = new GroupControlView();
    const leadership = new Leadership(config, store, role, control, new WriteLease(10_000), silent, () => undefined);

    // No router has answered: it may have been replaced while it was down.
    await leadership.reconcile();
    expect(leadership.actingRole()).toBe('slave');
    expect(leadership.writeRefusal()?.code).toBe('NOT_LEADER');
    expect(store.role).toBe('replica');
    const end = store.logEndOffset();
    await store.commitOffset('g', 't', 0, 1);
    expect(store.logEndOffset()).toBe(end);
    expect(store.overlayOffsets()).toEqual([{ group: 'g', topic: 't', queueId: 0, offset: 1 }]);

    // The routers say it still leads (epoch 1): the commit made while waiting goes into its log.
    control.apply([], { group: 'broker-a', epoch: 1, leader: 'broker-a/0@dc1', frozen: false, version: 1 } as never, []);
    await leadership.reconcile();
    expect(leadership.actingRole()).toBe('master');
    expect(store.role).toBe('master');
    await expect.poll(() => store.logEndOffset()).toBeGreaterThan(end);
    expect(store.committedOffset('g', 't', 0)).toBe(1);
  });
});
