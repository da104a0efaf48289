import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';

async function configFile(content: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'roomq-config-'));
  const path = join(dir, 'config.json');
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

describe('production process configs', () => {
  it('a broker config with a bad field exits non-zero naming the field', async () => {
    const path = await configFile({ group: 'broker-a', room: 'dc1', routers: ['127.0.0.1:9876'], dataDir: '/tmp/x', flushMode: 'sometimes' });
    const result = await runCli(['broker', '--config', path]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/flushMode/);
  });

  it('a broker config missing a required field names it', async () => {
    const path = await configFile({ group: 'broker-a', room: 'dc1', dataDir: '/tmp/x' });
    const result = await runCli(['broker', '--config', path]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/routers/);
  });

  it('a router config with a bad listen address names the field', async () => {
    const path = await configFile({ name: 'r1', room: 'dc1', listen: 'nowhere', dataDir: '/tmp/x' });
    const result = await runCli(['router', '--config', path]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/listen/);
  });

  it('a config that is not JSON says so', async () => {
    const path = await configFile('{ group: ');
    const result = await runCli(['broker', '--config', path]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/not valid JSON/);
  });
});

describe('example configs in infra/config', () => {
  it('are valid, so operators can start from them', async () => {
    const { parseBrokerConfig } = await import('@roomq/broker');
    const { parseRouterConfig } = await import('@roomq/router');
    const dir = fileURLToPath(new URL('../infra/config/', import.meta.url));
    for (const name of ['broker.example.json', 'broker-slave.example.json']) {
      const config: unknown = JSON.parse(readFileSync(join(dir, name), 'utf8'));
      expect(() => parseBrokerConfig(config), name).not.toThrow();
    }
    const router: unknown = JSON.parse(readFileSync(join(dir, 'router.example.json'), 'utf8'));
    expect(() => parseRouterConfig(router)).not.toThrow();
  });
});
