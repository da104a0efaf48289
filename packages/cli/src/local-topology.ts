import { join } from 'node:path';

/**
 * The local two-room cluster: a router per room sharing one embedded control store, and a broker group with
 * its master in each room. Ports are fixed defaults so the README's commands work; 0 picks free ones.
 */

export interface LocalPorts {
  /** First router port; the dc2 router gets the next one (0: any free port for both). */
  routerPort: number;
  /** First broker port; later brokers get +10 each (0: any free port). */
  brokerPort: number;
}

export interface RouterPlan {
  name: string;
  room: string;
  config: Record<string, unknown>;
}

export interface BrokerPlan {
  name: string;
  room: string;
  group: string;
  memberId: number;
  /** Config once the routers and the member's upstream (slaves) are listening. */
  config: (routers: string[], upstream: string | undefined) => Record<string, unknown>;
}

const ROOMS = ['dc1', 'dc2'] as const;
/**
 * Broker groups as chains: master → slave → slave, the rooms of the members in chain order. Each group has its
 * master in one room and both slaves in the other: the master's direct replica is the cross-room copy, so
 * sync:1 acknowledges only what the other room holds (losing a room loses nothing acknowledged), each byte
 * crosses rooms once, and after a cut the acting master still has a replica beside it to sync to.
 */
const CHAINS = [
  { group: 'broker-a', rooms: ['dc1', 'dc2', 'dc2'] },
  { group: 'broker-b', rooms: ['dc2', 'dc1', 'dc1'] },
] as const;

export function localRouters(dataDir: string, ports: LocalPorts): RouterPlan[] {
  return ROOMS.map((room, i) => ({
    name: `router-${room}`,
    room,
    config: {
      name: `router-${room}`,
      room,
      listen: `127.0.0.1:${ports.routerPort === 0 ? 0 : ports.routerPort + i}`,
      dataDir: join(dataDir, `router-${room}`),
      // One file shared by both routers: the embedded store for one machine.
      controlStore: { kind: 'file', path: join(dataDir, 'control.json') },
      autoCreateTopics: true,
      logLevel: 'info',
    },
  }));
}

/** Every member of every chain, in an order where each member's upstream comes before it. */
export function localBrokers(dataDir: string, ports: LocalPorts, flushMode: 'sync' | 'async', replicationMode: string): BrokerPlan[] {
  return CHAINS.flatMap(({ group, rooms }, g) =>
    rooms.map((room, memberId) => ({
      name: `${group}/${memberId}@${room}`,
      room,
      group,
      memberId,
      config: (routers: string[], upstream: string | undefined) => ({
        group,
        memberId,
        room,
        role: memberId === 0 ? 'master' : 'slave',
        ...(upstream ? { upstream } : { chain: rooms.slice(1).map((r, i) => `${group}/${i + 1}@${r}`) }),
        replicationMode,
        listen: `127.0.0.1:${ports.brokerPort === 0 ? 0 : ports.brokerPort + 10 * g + memberId}`,
        routers,
        dataDir: join(dataDir, `${group}-${memberId}`),
        flushMode,
        logLevel: 'info',
      }),
    })),
  );
}
