/**
 * Every command, in the order `tcpdiag --help` lists them. Each entry adds one command (or a
 * group) to the program; the implementation is imported lazily inside its action.
 * Add a command: one import and one entry here, nothing else.
 */
import type { Command } from 'commander';
import { registerConns } from './conns.js';
import { registerListeners } from './listeners.js';
import { registerStats } from './stats.js';
import { registerTrace } from './trace.js';
import { registerAnalyze } from './analyze.js';
import { registerClient } from './client.js';
import { registerServer } from './server.js';
import { registerProbe } from './probe.js';
import { registerProxy } from './proxy.js';
import { registerFault } from './fault.js';
import { registerBench } from './bench.js';
import { registerCapture } from './capture.js';

export type RegisterCommand = (program: Command) => void;

export const COMMANDS: readonly RegisterCommand[] = [
  registerConns,
  registerListeners,
  registerStats,
  registerTrace,
  registerAnalyze,
  registerClient,
  registerServer,
  registerProbe,
  registerProxy,
  registerFault,
  registerBench,
  registerCapture,
];
