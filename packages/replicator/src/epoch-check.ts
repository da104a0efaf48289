/**
 * The epoch half of the resume handshake. Bytes a replica holds past the end of its last epoch in its
 * upstream's history were written by a leader that was later replaced (an old master that kept writing, or
 * that had written without replicating, before a cut); the new epoch does not keep them, so the replica must
 * cut them off (into quarantine) before it may continue. Everything before that point is the same on both:
 * a member only ever receives its upstream's durable bytes, in order.
 */

export interface EpochStartPoint {
  epoch: number;
  startOffset: number;
}

export type EpochVerdict =
  | { kind: 'continue' }
  /** The replica's log runs past the end of its last epoch here: cut it back to `offset` first. */
  | { kind: 'truncate'; offset: number; upstreamEpoch: number }
  /** The replica has seen a newer epoch than this upstream: this upstream is stale and must not feed it. */
  | { kind: 'stale-upstream'; upstreamEpoch: number };

/**
 * `history` is the upstream's, ascending. The end of epoch E in it is where the first later epoch starts
 * (or the log end when E is the upstream's newest).
 */
export function checkEpoch(history: readonly EpochStartPoint[], replicaEpoch: number, replicaEnd: number): EpochVerdict {
  const upstreamEpoch = history.length === 0 ? 1 : history[history.length - 1]!.epoch;
  if (replicaEpoch > upstreamEpoch) return { kind: 'stale-upstream', upstreamEpoch };
  const next = history.find((h) => h.epoch > replicaEpoch);
  if (next && replicaEnd > next.startOffset) return { kind: 'truncate', offset: next.startOffset, upstreamEpoch };
  return { kind: 'continue' };
}
