import { describe, expect, it } from 'vitest';
import { parseBenchOptions } from '../src/bench-options.js';
import type { PeerDefinition } from '../src/peers/peer.js';

const peer = (name: string, variants: string[], defaultVariants: string[]): PeerDefinition => ({ name, endpoint: '127.0.0.1:1', variants, defaultVariants, open: () => Promise.reject(new Error('not in a unit test')) });
const PEERS = [peer('nats', ['jetstream'], ['jetstream']), peer('rabbitmq', ['quorum', 'classic'], ['quorum']), peer('redis', ['everysec', 'always'], ['everysec', 'always'])];
const picks = (peers: string) => parseBenchOptions({ peers }, PEERS).peers.picks.map((p) => `${p.peer.name}:${p.variants.join('+')}`);

describe('parseBenchOptions', () => {
  it('runs every peer in its default variants when --peers is not given, and says it was not asked for', () => {
    const options = parseBenchOptions({}, PEERS);
    expect(options.peers.explicit).toBe(false);
    expect(options.peers.picks.map((p) => `${p.peer.name}:${p.variants.join('+')}`)).toEqual(['nats:jetstream', 'rabbitmq:quorum', 'redis:everysec+always']);
    expect(options).toMatchObject({ quick: false, json: false, 'results-dir': 'results' });
    expect(options.only).toBeUndefined();
  });

  it('takes names, name:variant and none', () => {
    expect(picks('none')).toEqual([]);
    expect(picks('redis:always, rabbitmq:classic,rabbitmq')).toEqual(['redis:always', 'rabbitmq:classic+quorum']);
  });

  it('names the flag and the choices for an unknown peer or variant', () => {
    expect(() => picks('kafka')).toThrow(/peers: unknown peer "kafka"; use "all", "none" or a comma list of nats, nats:jetstream, rabbitmq/);
    expect(() => picks('redis:never')).toThrow(/unknown peer "redis:never"/);
    expect(() => picks(',')).toThrow(/peers: name at least one peer/);
  });

  it('checks --only against the sections', () => {
    expect([...parseBenchOptions({ only: 'peers,drill' }, PEERS).only!]).toEqual(['peers', 'drill']);
    expect(() => parseBenchOptions({ only: 'peers,nope' }, PEERS)).toThrow(/only: unknown section "nope"; use a comma list of storage, client, replication, peers, drill/);
  });
});
