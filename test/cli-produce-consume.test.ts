import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { TestCluster, uniqueName } from './helpers/cluster.js';

describe('roomq produce and consume against real processes', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start({ autoCreateTopics: true });
  });
  afterAll(async () => cluster?.stop());

  it('delivers every acknowledged key once with its body intact', async () => {
    const topic = uniqueName('cli');
    const count = 20_000;
    const sentFile = join(cluster.dir, 'sent.txt');
    const gotFile = join(cluster.dir, 'got.txt');
    const produced = await runCli(['produce', '--router', cluster.routerEndpoint, '--topic', topic, '--count', String(count), '--size', '1024', '--key-prefix', 'k', '--dump', sentFile, '--json']);
    expect(produced.code, produced.stderr).toBe(0);
    expect(produced.json).toMatchObject({ sent: count, acknowledged: count, failed: 0 });

    const consumed = await runCli(['consume', '--router', cluster.routerEndpoint, '--group', uniqueName('g'), '--topic', topic, '--count', String(count), '--timeout-ms', '10000', '--dump', gotFile, '--json']);
    expect(consumed.code, consumed.stderr).toBe(0);
    expect(consumed.json).toMatchObject({ received: count, distinctKeys: count, duplicates: 0, bodiesMismatched: 0 });

    const sent = (await readFile(sentFile, 'utf8')).trim().split('\n').sort();
    const got = (await readFile(gotFile, 'utf8')).trim().split('\n').sort();
    expect(got).toEqual(sent);
    expect(new Set(got).size).toBe(count);
  });

  it('prints human summaries with rate and latency percentiles', async () => {
    const topic = uniqueName('human');
    const produced = await runCli(['produce', '--router', cluster.routerEndpoint, '--topic', topic, '--count', '100', '--size', '16']);
    expect(produced.code, produced.stderr).toBe(0);
    expect(produced.stdout).toMatch(/100 acknowledged, 0 failed of 100/);
    expect(produced.stdout).toMatch(/latency ms: p50 [\d.]+ +p90 [\d.]+ +p99 [\d.]+/);
    expect(produced.stdout).toMatch(/dc1 +broker-a\/0@dc1 +100/);
  });
});
