/**
 * Runs `restore` if the bench is interrupted (Ctrl-C, SIGTERM) while a peer's server is reconfigured, then
 * exits; without it an interrupted run would leave, say, the shared Redis fsyncing every write. A SIGKILL
 * cannot be caught: the skip note tells how to restore by hand.
 */
export function restoreOnSignal(restore: () => Promise<void>): () => void {
  const onSignal = (signal: NodeJS.Signals): void => {
    void restore()
      .catch((err: unknown) => process.stderr.write(`bench: could not restore after ${signal}: ${err instanceof Error ? err.message : String(err)}\n`))
      .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
