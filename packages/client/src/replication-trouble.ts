import type { BrokerStatus } from './admin.js';

/**
 * What keeps a following member from copying its upstream's log, from its own heartbeat: its follower is
 * reconnecting (with the last error) or has stopped for good on a diverged log (with the refusal). Undefined
 * while it streams or is caught up, and for a member that leads. `roomq cluster status` prints it, and a
 * failback waiting for a master to rejoin says it, so an operator sees why a member stays behind.
 */
export function replicationTrouble(broker: Pick<BrokerStatus, 'name' | 'role' | 'upstream' | 'replication'>): string | undefined {
  if (broker.role === 'master') return undefined;
  const own = broker.replication.find((r) => r.member === broker.name);
  if (!own || (own.status !== 'connecting' && own.status !== 'diverged')) return undefined;
  const from = broker.upstream ? ` from ${broker.upstream}` : '';
  if (own.status === 'diverged') return `replication${from} stopped, the log diverged: ${own.reason || 'no reason given'}`;
  return `replication${from} is reconnecting${own.reason ? ` after: ${own.reason}` : ''}`;
}
