#!/usr/bin/env node
import { CommanderError } from 'commander';
import { parseCli } from './program.js';
import { formatError } from './run.js';

// Writing into a closed pipe (`tcpdiag conns | head`) is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

try {
  await parseCli(process.argv.slice(2));
} catch (error: unknown) {
  if (!(error instanceof CommanderError)) {
    process.stderr.write(formatError(error));
    process.exitCode = 70;
  }
}
