#!/usr/bin/env node
/**
 * tcpdiag with every command, as ES modules (the launcher runs this for everything that has
 * no start-up bundle). Only the command being run is loaded: see program.ts.
 */
import { COMMANDS } from './commands/index.js';
import { runMain } from './entry.js';

await runMain(process.argv.slice(2), COMMANDS);
