/**
 * What a rejoining member cut off is never dropped: `roomq quarantine list` shows it and `roomq quarantine
 * replay` sends its messages again (same topic, keys, tag, properties, body) and marks the entry replayed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { MessageStore, Quarantine } from '@roomq/broker';
import { Admin, PushConsumer, type ReceivedMessage } from '@roomq/client';
import { encodeMessageSection, summarizeMessageSection } from '@roomq/protocol';
import { runCli } from './helpers/cli.js';
import { uniqueName, waitFor } from './helpers/cluster.js';
import { TwoRooms } from './helpers/two-rooms.js';

let rooms: TwoRooms | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await rooms?.stop();
  rooms = undefined;
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** A broker data dir whose quarantine holds one cut of `keys`, made the way a rejoining broker makes it. */
async function quarantinedDataDir(topic: string, keys: string[]): Promise<string> {
  const dataDir = await mkdtemp(join(tmpdir(), 'roomq-quarantine-'));
  dirs.push(dataDir);
  const store = await MessageStore.open({ dataDir: join(dataDir, 'scratch'), flushMode: 'sync' });
  try {
    await store.appendMessages(
      keys.map((key) => {
        const section = encodeMessageSection({ topic, messageId: `id-${key}`, tag: 'replayed', keys: [key], properties: { origin: 'old-master' }, body: Buffer.from(`body of ${key}`), bornTimestampMs: Date.now() });
        return { queueId: 0, section, summary: summarizeMessageSection(section, 0, section.length) };
      }),
    );
    const bytes = await store.readLog(0, 1024 * 1024);
    await new Quarantine(dataDir, pino({ level: 'silent' })).save(0, bytes.length, bytes, { epoch: 2, leader: 'broker-a/1@dc2', reason: 'test' });
  } finally {
    await store.close();
  }
  return dataDir;
}

describe('roomq quarantine', () => {
  it('lists a cut, replays its messages through the routers, and marks it replayed', async () => {
    rooms = await TwoRooms.start();
    const topic = uniqueName('quarantined');
    const admin = new Admin({ router: rooms.router('dc1') });
    await admin.createTopic(topic, { mode: 'active-active', queuesPerBroker: 2 });
    await admin.close();
    const keys = Array.from({ length: 25 }, (_, i) => `q${i}`);
    const dataDir = await quarantinedDataDir(topic, keys);

    const listed = await runCli(['quarantine', 'list', '--data-dir', dataDir, '--json']);
    expect(listed.code).toBe(0);
    expect((listed.json!['entries'] as Array<Record<string, unknown>>)[0]).toMatchObject({ messages: 25, epoch: 2, leader: 'broker-a/1@dc2' });
    const human = await runCli(['quarantine', 'list', '--data-dir', dataDir]);
    expect(human.stdout).toMatch(/pending/);

    const refused = await runCli(['quarantine', 'replay', '--data-dir', dataDir, '--router', rooms.router('dc1')]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--yes');

    const replay = await runCli(['quarantine', 'replay', '--data-dir', dataDir, '--router', rooms.routersFor('dc1').join(','), '--room', 'dc1', '--yes', '--json']);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.json).toMatchObject({ replayed: [expect.objectContaining({ messages: 25 })] });

    const got: ReceivedMessage[] = [];
    const consumer = new PushConsumer({ routers: rooms.routersFor('dc1'), room: 'dc1', group: uniqueName('g'), topic, startFrom: 'first', handler: (m) => void got.push(m) });
    await consumer.start();
    try {
      await waitFor(() => got.length >= 25 || undefined, '25 replayed messages');
    } finally {
      await consumer.close();
    }
    expect(got.flatMap((m) => m.keys).sort()).toEqual([...keys].sort());
    expect(got[0]).toMatchObject({ tag: 'replayed', properties: expect.objectContaining({ origin: 'old-master' }) });

    const after = await runCli(['quarantine', 'list', '--data-dir', dataDir, '--json']);
    expect((after.json!['entries'] as Array<Record<string, unknown>>)[0]!['replayedAtMs']).toEqual(expect.any(Number));
  });
});
