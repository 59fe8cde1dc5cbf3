/**
 * Running the CLI as a process: argv in, exit code out, and whatever tcpdiag installed in the
 * kernel removed however the process ends. main.ts runs it with every command; the start-up
 * bundles (fast/*.ts) with one.
 */
import { CommanderError } from 'commander';
import type { CommandEntry } from './commands/index.js';
import { parseCli } from './program.js';
import { exitCodeFor, formatError } from './run.js';
import { installProcessHandlers, isLeaving, leave } from './lifetime.js';

export async function runMain(argv: readonly string[], commands: readonly CommandEntry[]): Promise<void> {
  installProcessHandlers();
  // Writing into a closed pipe (`tcpdiag conns | head`) is not an error worth a stack trace.
  // Cleanups (tracefs instances, nft tables) still run before exiting.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    leave(0);
  });
  // Nothing can be reported once stderr is gone (the terminal or the reading process died).
  // Without this listener the failed write would be an uncaught exception whose report is
  // another write to stderr: a loop of process.nextTick callbacks that starves the promise
  // that exits (seen: an orphaned `trace` at 100% CPU after its test runner was killed).
  process.stderr.on('error', () => undefined);

  // A bug that escapes every catch still removes what tcpdiag installed in the kernel (tracefs
  // instances, nft tables, capture children) before the process dies. Reported once.
  const crash = (error: unknown): void => {
    if (isLeaving()) return;
    process.stderr.write(formatError(error));
    leave(70);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);

  try {
    await parseCli(argv, commands);
  } catch (error: unknown) {
    // commander printed its own usage errors; a refused flag value (flag-conventions.ts) is a
    // UsageError, exit 2, like them.
    if (!(error instanceof CommanderError)) {
      process.stderr.write(formatError(error));
      process.exitCode = exitCodeFor(error);
    }
  }
}
