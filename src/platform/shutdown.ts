/**
 * One place that runs cleanup on exit, Ctrl-C, SIGTERM and fatal errors: tracefs instances,
 * nft tables, child processes. Cleanups run once, newest first, each guarded so one failing
 * does not stop the rest. Library code registers; only the CLI decides to exit.
 */

export type Cleanup = () => void | Promise<void>;

const cleanups = new Map<number, { readonly name: string; readonly run: Cleanup }>();
let nextId = 1;
let installed = false;
let running: Promise<void> | null = null;
const signalListeners: Array<(signal: NodeJS.Signals) => void> = [];

/** Register a cleanup; returns a function that unregisters it (call it after cleaning up normally). */
export function onShutdown(name: string, run: Cleanup): () => void {
  installSignalHandlers();
  const id = nextId++;
  cleanups.set(id, { name, run });
  return () => {
    cleanups.delete(id);
  };
}

/**
 * Take over SIGINT/SIGTERM/SIGHUP for a graceful stop: the listener (e.g. aborting a loop so the
 * command prints its summary) replaces the default "clean up and exit". The CLI runs the
 * cleanups when the command returns. A second signal always cleans up and exits.
 * Returns a function that gives the default behaviour back.
 */
export function onSignal(listener: (signal: NodeJS.Signals) => void): () => void {
  installSignalHandlers();
  signalListeners.push(listener);
  return () => {
    const i = signalListeners.indexOf(listener);
    if (i >= 0) signalListeners.splice(i, 1);
  };
}

/** Run every registered cleanup once (newest first). Safe to call repeatedly. */
export function runCleanups(): Promise<void> {
  running ??= (async () => {
    const entries = [...cleanups.entries()].reverse();
    cleanups.clear();
    for (const [, entry] of entries) {
      try {
        await entry.run();
      } catch (error: unknown) {
        process.emitWarning(`cleanup "${entry.name}" failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  })().finally(() => {
    running = null;
  });
  return running;
}

function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  let signalled = false;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (!signalled && signalListeners.length > 0) {
        signalled = true;
        for (const listener of [...signalListeners]) listener(signal);
        return;
      }
      void runCleanups().then(() => {
        // 128 + signal number, as a shell reports a signalled process.
        process.exit(signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : 129);
      });
    });
  }
}
