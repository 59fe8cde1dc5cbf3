/**
 * Run inside a network namespace by test/ss-filter.test.ts: reads a JSON list of argument
 * lists (filter flags and expression words, as `tcpdiag conns` takes them) on stdin and prints,
 * for each, the sockets `conns` would select (state, local, remote), through the same flag
 * parsing and source as the command: one process for a hundred expressions instead of a
 * hundred start-ups.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { addFilterOptions, addSocketSourceOption, filterFromFlags } from '../../src/cli/filter-options.js';
import type { FilterFlags, SocketSourceFlags } from '../../src/cli/filter-options.js';
import { readSockets } from '../../src/sources/sockets.js';

const argLists = JSON.parse(readFileSync(0, 'utf8')) as string[][];
const results = argLists.map((args) => {
  const command = new Command('conns').argument('[expression...]').exitOverride();
  addSocketSourceOption(addFilterOptions(command, { states: true, remote: true, owners: true, short: 'ss' }));
  command.parse(args, { from: 'user' });
  const flags = command.opts<FilterFlags & SocketSourceFlags>();
  const filter = filterFromFlags(flags, command.args);
  const table = readSockets({ filter, withInfo: false, withOwners: false }, flags.source ? { backend: flags.source } : {});
  return table.data.map((s) => ({ state: s.state, local: s.local, remote: s.remote }));
});
process.stdout.write(JSON.stringify(results));
