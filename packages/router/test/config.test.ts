import { describe, expect, it } from 'vitest';
import { RoomqError } from '@roomq/protocol';
import { parseRouterConfig, parseRouterOptions, routerOptionsFromConfig, Router } from '../src/index.js';

const valid = { name: 'router-1', room: 'dc1', listen: '0.0.0.0:9876', dataDir: '/var/lib/roomq/router' };

function configError(json: unknown): string {
  try {
    parseRouterConfig(json);
  } catch (err) {
    expect(err).toBeInstanceOf(RoomqError);
    expect((err as RoomqError).code).toBe('CONFIG_INVALID');
    return (err as RoomqError).message;
  }
  throw new Error('expected the config to be refused');
}

describe('router config file', () => {
  it('fills defaults', () => {
    expect(parseRouterConfig(valid)).toEqual({
      ...valid,
      autoCreateTopics: false,
      defaultQueuesPerBroker: 4,
      heartbeatIntervalMs: 1000,
      logLevel: 'info',
    });
  });

  it('accepts the file text as well', () => {
    expect(parseRouterConfig(JSON.stringify({ ...valid, listen: '[::]:9876', autoCreateTopics: true })).autoCreateTopics).toBe(true);
  });

  it('names the bad field', () => {
    expect(configError({ ...valid, listen: '9876' })).toBe('router config: listen: expected host:port, e.g. 0.0.0.0:9876');
    expect(configError({ ...valid, listen: 'host:99999' })).toMatch(/^router config: listen: expected host:port/);
    expect(configError({ ...valid, room: 'Room 1' })).toMatch(/^router config: room: expected a room name/);
    expect(configError({ ...valid, dataDir: undefined })).toBe('router config: dataDir: is required');
    expect(configError({ ...valid, defaultQueuesPerBroker: 0 })).toMatch(/^router config: defaultQueuesPerBroker: /);
    expect(configError({ ...valid, heartbeatIntervalMs: 'fast' })).toMatch(/^router config: heartbeatIntervalMs: /);
    expect(configError({ ...valid, heartbeatIntervalMs: 1000, brokerTimeoutMs: 500 })).toMatch(/^router config: brokerTimeoutMs: must be longer than heartbeatIntervalMs/);
    expect(configError({ ...valid, logLevel: 'loud' })).toMatch(/^router config: logLevel: /);
    expect(configError({ ...valid, autoCreateTopic: true })).toBe('router config: unknown field "autoCreateTopic"');
  });

  it('lists every problem at once', () => {
    const message = configError({ room: 'dc1', listen: 'nope' });
    expect(message).toContain('listen: expected host:port');
    expect(message).toContain('dataDir: is required');
  });

  it('takes the room options and the control store', () => {
    const config = parseRouterConfig({
      ...valid,
      dataDir: undefined,
      controlStore: { kind: 'redis', url: 'redis://10.0.0.5:6379/0', keyPrefix: 'roomq:' },
      roomByCidr: [{ cidr: '10.1.0.0/16', room: 'dc1' }],
      rooms: ['dc2'],
      defaultTopicMode: 'active-active',
    });
    const options = parseRouterOptions(routerOptionsFromConfig({ ...config, logLevel: 'silent' }));
    expect(options).toMatchObject({
      controlStore: { kind: 'redis', url: 'redis://10.0.0.5:6379/0', keyPrefix: 'roomq:' },
      roomByCidr: [{ cidr: '10.1.0.0/16', room: 'dc1' }],
      rooms: ['dc2'],
      defaultTopicMode: { kind: 'active-active' },
    });
    expect(parseRouterConfig({ ...valid, dataDir: undefined, controlStore: { kind: 'file', path: '/x/control.json' } }).controlStore).toEqual({ kind: 'file', path: '/x/control.json' });
  });

  it('names bad room and store fields', () => {
    expect(configError({ ...valid, roomByCidr: [{ cidr: '10.1.0.0', room: 'dc1' }] })).toBe('router config: roomByCidr.0.cidr: expected an IPv4 CIDR, e.g. 10.1.0.0/16');
    expect(configError({ ...valid, roomByCidr: [{ cidr: '10.1.0.0/16', room: 'DC 1' }] })).toMatch(/^router config: roomByCidr\.0\.room: expected a room name/);
    expect(configError({ ...valid, defaultTopicMode: 'home' })).toBe('router config: defaultTopicMode: expected active-active or home:<room>, e.g. home:dc1');
    expect(configError({ ...valid, controlStore: { kind: 'redis', url: 'localhost:6379' } })).toMatch(/^router config: controlStore\.url: expected a redis:\/\/ or rediss:\/\/ URL/);
    expect(configError({ ...valid, controlStore: { kind: 'etcd' } })).toMatch(/^router config: controlStore\.kind: /);
    expect(configError({ ...valid, controlStore: { kind: 'file', dir: '/x' } })).toBe('router config: controlStore: unknown field "dir"');
    expect(configError({ ...valid, dataDir: undefined, controlStore: { kind: 'file' } })).toBe('router config: dataDir: is required');
  });

  it('refuses text that is not JSON', () => {
    expect(configError('{ name: ')).toMatch(/^router config: not valid JSON/);
  });

  it('becomes router options', () => {
    const options = parseRouterOptions(routerOptionsFromConfig(parseRouterConfig({ ...valid, listen: '[::1]:7000', heartbeatIntervalMs: 500, logLevel: 'silent' })));
    expect(options).toMatchObject({ name: 'router-1', room: 'dc1', host: '::1', port: 7000, heartbeatIntervalMs: 500, brokerTimeoutMs: 1500, autoCreateTopics: false });
  });
});

describe('router options', () => {
  it('defaults the broker timeout to three heartbeat intervals', () => {
    const options = parseRouterOptions({ room: 'dc1', dataDir: '/tmp/x', heartbeatIntervalMs: 200 });
    expect(options).toMatchObject({ name: 'router', host: '127.0.0.1', port: 9876, autoCreateTopics: false, defaultQueuesPerBroker: 4, brokerTimeoutMs: 600 });
  });

  it('needs a room and a dataDir or a store', () => {
    expect(() => new Router({ room: 'dc1' })).toThrow(/router options: dataDir: is required/);
    expect(() => new Router({ room: '', dataDir: '/tmp/x' })).toThrow(/router options: room: expected a room name/);
    expect(() => new Router({ room: 'dc1', dataDir: '/tmp/x', port: 70000 })).toThrow(/router options: port: /);
    expect(() => new Router({ room: 'dc1', controlStore: { kind: 'redis', url: 'redis://127.0.0.1:6379' } })).not.toThrow();
  });

  it('defaults the topic mode to the home of the router room, and places no client by range', () => {
    expect(parseRouterOptions({ room: 'dc2', dataDir: '/tmp/x' })).toMatchObject({ defaultTopicMode: { kind: 'home', room: 'dc2' }, roomByCidr: [], rooms: [] });
    expect(() => new Router({ room: 'dc1', dataDir: '/tmp/x', defaultTopicMode: 'home:Bad Room' })).toThrow(/router options: defaultTopicMode: expected active-active or home:<room>/);
  });
});
