/**
 * Consumption progress of one queue, free of I/O. Invariant: the offsets it hands out for commit only ever
 * increase, whatever order consumption, broker answers and commit results arrive in.
 */
export class OffsetTracker {
  /** Next offset to consume: one past the last message the handler finished; -1 before anything is known. */
  private consumed = -1;
  /** Highest offset known to be stored at the broker for the group; -1 when none. */
  private committed = -1;
  private committing: number | undefined;

  get consumedNext(): number {
    return Math.max(this.consumed, this.committed);
  }

  get committedOffset(): number {
    return this.committed;
  }

  get known(): boolean {
    return this.consumed >= 0 || this.committed >= 0;
  }

  /** The handler finished the message before `nextOffset`. */
  markConsumed(nextOffset: number): void {
    if (nextOffset > this.consumed) this.consumed = nextOffset;
  }

  /** The broker reports this committed offset (GetOffset); a lower answer than we know changes nothing. */
  observeCommitted(offset: number): void {
    if (offset > this.committed) this.committed = offset;
  }

  /** The offset to commit now, or undefined when there is nothing new or a commit is already on its way. */
  takeCommit(): number | undefined {
    if (this.committing !== undefined || this.consumed <= this.committed) return undefined;
    this.committing = this.consumed;
    return this.committing;
  }

  commitSucceeded(offset: number): void {
    if (this.committing === offset) this.committing = undefined;
    this.observeCommitted(offset);
  }

  commitFailed(): void {
    this.committing = undefined;
  }
}
