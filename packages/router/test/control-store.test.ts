import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RoomqError, V2_CODE } from '@roomq/protocol';
import { CONTROL_FILE_NAME, Router } from '../src/index.js';
import { admin, cleanup, startRouter, tempDir, unary } from './helpers.js';

afterEach(cleanup);

/** The router on its default embedded store; the stores themselves are tested in control-store-*.test.ts. */
describe('router on the embedded file store', () => {
  it('keeps topics across router restarts with the same dataDir', async () => {
    const dataDir = await tempDir();
    const first = await startRouter({ dataDir });
    await unary(admin(first.target), 'CreateTopic', { name: 'durable', queues_per_broker: 6 });
    await first.router.close();

    const second = await startRouter({ dataDir });
    const list = await unary(admin(second.target), 'ListTopics', {});
    expect(list.topics).toEqual([expect.objectContaining({ name: 'durable', queues_per_broker: 6 })]);
    const again = await unary(admin(second.target), 'CreateTopic', { name: 'durable', queues_per_broker: 6 });
    expect(again.status.code).toBe(V2_CODE.OK);
    expect(again.created ?? false).toBe(false);
  });

  it.each([
    ['truncated JSON', '{"format":"roomq-router-control","version":2,"topics":[{"na', /not valid JSON/],
    ['another file', '{"hello":"world"}', /not a roomq router control file/],
    ['a future version', '{"format":"roomq-router-control","version":7,"topics":[]}', /format version 7 is not supported/],
    ['a bad topic', '{"format":"roomq-router-control","version":1,"topics":[{"name":"x","queuesPerBroker":0,"createdAtMs":1}]}', /topics\.0\.queuesPerBroker/],
  ])('fails start clearly on a corrupt file: %s', async (_what, content, reason) => {
    const dataDir = await tempDir();
    await writeFile(join(dataDir, CONTROL_FILE_NAME), content);
    const router = new Router({ room: 'dc1', port: 0, dataDir });
    const failure = await router.start().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(RoomqError);
    const message = (failure as RoomqError).message;
    expect(message).toContain(join(dataDir, CONTROL_FILE_NAME));
    expect(message).toMatch(/is corrupt/);
    expect(message).toMatch(reason);
    expect(message).toMatch(/restore it from a backup, or move it aside/);
    expect(router.status).toBe('failed');
    await router.close();
    expect(router.status).toBe('closed');
    // The corrupt file is left as it was for operations to inspect.
    expect(await readFile(join(dataDir, CONTROL_FILE_NAME), 'utf8')).toBe(content);
  });
});
