/**
 * A consumer group's offset in one queue, committed at a replica (while it served reads) and forwarded up
 * the chain with progress reports until the master has written it into the log. Offsets only go forward: two
 * reports about the same queue merge to the higher offset, and the master applies each with max semantics.
 */
export interface OffsetCommit {
  group: string;
  topic: string;
  queueId: number;
  /** Queue offset the group consumes next. */
  offset: number;
}

/** Where a ReplicaFollower finds the offsets to forward: this member's own, plus what its downstream sent. */
export type OffsetCommitSource = () => OffsetCommit[];

/** One entry per (group, topic, queueId), the highest offset of all `lists`. */
export function mergeOffsetCommits(...lists: ReadonlyArray<readonly OffsetCommit[]>): OffsetCommit[] {
  const merged = new Map<string, OffsetCommit>();
  for (const list of lists) {
    for (const commit of list) {
      const key = `${commit.group}\u0000${commit.topic}\u0000${commit.queueId}`;
      const seen = merged.get(key);
      if (!seen || commit.offset > seen.offset) merged.set(key, { group: commit.group, topic: commit.topic, queueId: commit.queueId, offset: commit.offset });
    }
  }
  return [...merged.values()];
}
