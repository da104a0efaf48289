import { Server } from '@grpc/grpc-js';
import { listenSniffing } from '@roomq/protocol';
import { pino } from 'pino';
import { parseBrokerConfig } from '../../src/server/broker-config.js';
import { Quarantine } from '../../src/server/quarantine.js';
import { ReplicationRole } from '../../src/server/replication-role.js';
import type { MessageStore } from '../../src/store/index.js';
import { openStore } from '../store/helpers.js';

const GROUP = 'broker-a';
const silent = pino({ level: 'silent' });

export interface Member {
  store: MessageStore;
  role: ReplicationRole;
  port: number;
  quarantine: Quarantine;
  /** Stops serving and following, then closes the store: a broker going down. */
  stop(): Promise<void>;
}

/**
 * One chain member as the broker wires it (ReplicationRole over a real MessageStore, served over real gRPC on
 * loopback), without the router link and client services.
 */
export async function chainMember(cleanups: Array<() => Promise<void>>, options: { dataDir: string; memberId: number; room: string; upstreamPort?: number; port?: number }): Promise<Member> {
  const store = await openStore({ dataDir: options.dataDir, segmentSizeBytes: 256 * 1024 });
  const config = parseBrokerConfig({
    group: GROUP,
    memberId: options.memberId,
    room: options.room,
    role: options.upstreamPort === undefined ? 'master' : 'slave',
    ...(options.upstreamPort === undefined ? {} : { upstream: `127.0.0.1:${options.upstreamPort}` }),
    routers: ['127.0.0.1:1'],
    dataDir: options.dataDir,
    segmentSizeBytes: 256 * 1024,
  });
  const quarantine = new Quarantine(options.dataDir, silent);
  await quarantine.load();
  const role = new ReplicationRole(config, store, quarantine, silent);
  const server = new Server();
  const listener = await listenSniffing('127.0.0.1', options.port ?? 0, server, [role.protocol()]);
  const port = listener.port;
  if (config.upstream) await role.follow(config.upstream);
  else await role.lead(config.chain);
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      await listener.close();
      server.forceShutdown();
      await role.close();
      await store.close();
    })());
  cleanups.push(stop);
  return { store, role, port, quarantine, stop };
}

