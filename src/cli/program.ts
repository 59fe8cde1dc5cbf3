/**
 * The command tree. Each command lives in its own file under commands/ and lazy-imports its
 * implementation, so `tcpdiag stats` does not load the pcap reader. The caller passes the
 * commands (main.ts all of them, a start-up bundle its one), so that this module does not
 * reach every command's code.
 */
import { Command } from 'commander';
import cliArgs from './argv.cjs';
import type { CommandEntry } from './commands/index.js';
import { applyFlagConventions } from './flag-conventions.js';
import { clipLongLines } from './run.js';

export const VERSION = '0.1.0';

/**
 * Build the program with every command, or only the one argv names: startup time is part of
 * the product (`tcpdiag stats` must answer within 100 ms, most of it Node's own start).
 */
export async function buildProgram(argv: readonly string[], commands: readonly CommandEntry[]): Promise<Command> {
  const program = new Command('tcpdiag')
    .version(VERSION)
    .description(
      'TCP debugging assistant for Linux servers: every connection and what the kernel does to it, ' +
        'what is wrong and why, and tools to reproduce and load-test on purpose.',
    )
    // Long form only: -c is each command's own (capture -c COUNT as in tcpdump, bench -c
    // CONNECTIONS as in wrk), and a global -c took `capture -c 5` for a config file named 5.
    .option('--config <file>', 'configuration file (default: $TCPDIAG_CONFIG, ./tcp_diag.conf, /etc/tcpdiag/tcp_diag.conf)')
    // Throw instead of exiting so tests can call parseCli(); subcommands copy this setting
    // when they are added, so it must come before the commands. Usage errors exit 2.
    .exitOverride((error) => {
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      throw error;
    })
    .showHelpAfterError('(run with --help for usage and examples)')
    .showSuggestionAfterError(true)
    // commander quotes a bad value in full: a 10 MB argument would be 10 MB of stderr.
    .configureOutput({ outputError: (text, write) => write(clipLongLines(`tcpdiag: ${text.replace(/^error: /, '')}`)) })
    .addHelpText(
      'after',
      `
Examples:
  tcpdiag conns --state close-wait          who holds sockets in CLOSE_WAIT
  tcpdiag listeners                         accept queues and half-open counts per listener
  tcpdiag stats --interval 1                counters and rates every second
Run "tcpdiag <command> --help" for each command's options and examples.`,
    );
  const name = cliArgs.commandNameIn(argv);
  const named = commands.filter((entry) => entry.name === name);
  // `help stats`, an unknown name (for the suggestion) or no command: load everything.
  const entries = named.length === 1 ? named : commands;
  const registrars = await Promise.all(entries.map((entry) => entry.load()));
  for (const register of registrars) register(program);
  applyFlagConventions(program);
  return program;
}

export async function parseCli(argv: readonly string[], commands: readonly CommandEntry[]): Promise<Command> {
  const program = await buildProgram(argv, commands);
  await program.parseAsync([...argv], { from: 'user' });
  return program;
}
