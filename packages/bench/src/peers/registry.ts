import { natsPeer } from './nats.js';
import type { PeerDefinition } from './peer.js';
import { rabbitmqPeer } from './rabbitmq.js';
import { redisPeer } from './redis.js';

/** Every peer `--peers` can name, in the order they run and appear in the report. */
export const PEERS: readonly PeerDefinition[] = [natsPeer, rabbitmqPeer, redisPeer];
