import { RoomqError } from '@roomq/protocol';
import { z } from 'zod';

/**
 * A group's replication mode: `async` (the producer is acknowledged once the master stores the message) or
 * `sync:N` (once the first N members after the master in the chain hold it durably).
 */
export type ReplicationMode = { kind: 'async' } | { kind: 'sync'; replicas: number };

const MODE_HINT =
  'expected "async" or "sync:N" with N ≥ 1 (the number of replicas after the master that must hold a message before the producer is acknowledged), e.g. "sync:1"';

export const replicationModeSchema = z
  .string({ error: MODE_HINT })
  .trim()
  .regex(/^(async|sync:[1-9]\d*)$/, MODE_HINT)
  .transform((text): ReplicationMode => (text === 'async' ? { kind: 'async' } : { kind: 'sync', replicas: Number(text.slice('sync:'.length)) }));

/** Parses `async` | `sync:N`; throws CONFIG_INVALID naming `field` and the accepted forms. */
export function parseReplicationMode(text: unknown, field = 'replicationMode'): ReplicationMode {
  const result = replicationModeSchema.safeParse(text);
  if (result.success) return result.data;
  throw new RoomqError('CONFIG_INVALID', `${field}: ${JSON.stringify(text)} is not a replication mode; ${result.error.issues[0]?.message ?? 'expected "async" or "sync:N"'}`, {
    details: { field },
    cause: result.error,
  });
}

export function formatReplicationMode(mode: ReplicationMode): string {
  return mode.kind === 'async' ? 'async' : `sync:${mode.replicas}`;
}
