/**
 * Running the CLI as a process: argv in, exit code out, and whatever tcpdiag installed in the
 * kernel removed however the process ends. main.ts runs it with every command; the start-up
 * bundles (fast/*.ts) with one.
 */
import { CommanderError } from 'commander';
import type { CommandEntry } from './commands/index.js';
import { parseCli } from './program.js';
import { formatError } from './run.js';
import { runCleanups } from '../platform/shutdown.js';

export async function runMain(argv: readonly string[], commands: readonly CommandEntry[]): Promise<void> {
  // Writing into a closed pipe (`tcpdiag conns | head`) is not an error worth a stack trace.
  // Cleanups (tracefs instances, nft tables) still run before exiting.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    void runCleanups().finally(() => process.exit(0));
  });

  // A bug that escapes every catch still removes what tcpdiag installed in the kernel (tracefs
  // instances, nft tables, capture children) before the process dies.
  const crash = (error: unknown): void => {
    process.stderr.write(formatError(error));
    void runCleanups().finally(() => process.exit(70));
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);

  try {
    await parseCli(argv, commands);
  } catch (error: unknown) {
    if (!(error instanceof CommanderError)) {
      process.stderr.write(formatError(error));
      process.exitCode = 70;
    }
  }
}
