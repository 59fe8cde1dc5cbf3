/**
 * Every command, in the order `tcpdiag --help` lists them. Each entry adds one command (or a
 * group) to the program; the implementation is imported lazily inside its action.
 * Add a command: one import and one entry here, nothing else.
 */
import type { Command } from 'commander';
import { registerAnalyze } from './analyze.js';
import { registerTrace } from './trace.js';

export type RegisterCommand = (program: Command) => void;

export const COMMANDS: readonly RegisterCommand[] = [
  registerAnalyze,
  registerTrace,
];
