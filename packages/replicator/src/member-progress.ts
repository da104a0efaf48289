/** How far one member of a broker group holds the log, as last reported up the chain. */
export interface MemberProgress {
  /** Member name, e.g. `broker-a/1@dc2`. */
  member: string;
  room: string;
  /** Log bytes before this are durable on that member. */
  durableOffset: number;
  logEndOffset: number;
  /** When that member made the report (its clock). */
  reportedAtMs: number;
}

/** Something that knows the progress of a chain's members and says when it changes (an UpstreamServer). */
export interface ProgressSource {
  progress(): MemberProgress[];
  /** Calls `listener` after every change; returns the unsubscribe function. */
  onProgress(listener: (progress: MemberProgress[]) => void): () => void;
}
