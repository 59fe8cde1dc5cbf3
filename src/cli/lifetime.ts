/**
 * The process's lifetime as the CLI runs it: one root scope (platform/scope.ts) that every
 * command's scope hangs from, and the only signal handlers in tcpdiag. A first SIGINT, SIGTERM
 * or SIGHUP is a graceful stop when the command asked for one (stopOnSignal: it prints its
 * summary and returns, and action() closes its scope); otherwise, and on a second signal, the
 * root scope closes and the process exits 128 + the signal number, as a shell reports a
 * signalled process. The 'exit' listener runs whatever is still pending synchronously.
 */
import { Scope } from '../platform/scope.js';

const EXIT_CODES: Readonly<Record<'SIGINT' | 'SIGTERM' | 'SIGHUP', number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

const root = new Scope('tcpdiag', {
  onCleanupError: ({ name, error }) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`tcpdiag: warning: cleanup "${name}" failed: ${message}\n`);
  },
});
const stopListeners = new Set<() => void>();
let installed = false;
let current: Scope | null = null;
let leaving = false;

/** The scope every command scope hangs from; closed when the process leaves. */
export function rootScope(): Scope {
  return root;
}

/** Close the root scope (every cleanup runs once), then exit with `code`. Later calls do nothing. */
export function leave(code: number): void {
  if (leaving) return;
  leaving = true;
  void root.close().finally(() => process.exit(code));
}

/** Whether leave() has been called (the process is closing its root scope and exiting). */
export function isLeaving(): boolean {
  return leaving;
}

/** Install the signal and exit handlers once per process (runMain does, before any command runs). */
export function installProcessHandlers(): void {
  if (installed) return;
  installed = true;
  let signalled = false;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (!signalled && stopListeners.size > 0) {
        signalled = true;
        for (const stop of [...stopListeners]) stop();
        return;
      }
      leave(EXIT_CODES[signal]);
    });
  }
  // process.exit() elsewhere (commander after --help, a crash inside a cleanup) skips async
  // cleanups; 'exit' listeners still run, synchronously: SIGKILL children, rmdir instances,
  // `nft delete table` through spawnSync.
  process.on('exit', () => root.closeSync());
}

/**
 * Make the first Ctrl-C/SIGTERM/SIGHUP a graceful stop: the returned signal aborts and the
 * command finishes on its own. `release()` gives the default (clean up and exit) back.
 */
export function stopOnSignal(): { readonly signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  stopListeners.add(stop);
  return { signal: controller.signal, release: () => void stopListeners.delete(stop) };
}

/** Open the scope of one command run (action() does); it closes with the root scope too. */
export function openCommandScope(name: string): Scope {
  current = root.child(name);
  return current;
}

/** The scope of the command being run: what it starts in the kernel registers its cleanup here. */
export function commandScope(): Scope {
  return current ?? openCommandScope('command');
}
