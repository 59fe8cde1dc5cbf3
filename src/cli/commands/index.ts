/**
 * Every command, in the order `tcpdiag --help` lists them. Each entry loads the module that
 * adds one command to the program; program.ts loads only the command being run (all of them
 * for --help), so `tcpdiag stats` does not pay for the pcap reader or the config schema.
 * Add a command: one entry here, nothing else.
 */
import type { Command } from 'commander';

export type RegisterCommand = (program: Command) => void;

export interface CommandEntry {
  readonly name: string;
  readonly load: () => Promise<RegisterCommand>;
}

export const COMMANDS: readonly CommandEntry[] = [
  { name: 'conns', load: async () => (await import('./conns.js')).registerConns },
  { name: 'listeners', load: async () => (await import('./listeners.js')).registerListeners },
  { name: 'stats', load: async () => (await import('./stats.js')).registerStats },
  { name: 'trace', load: async () => (await import('./trace.js')).registerTrace },
  { name: 'netns', load: async () => (await import('./netns.js')).registerNetns },
  { name: 'capture', load: async () => (await import('./capture.js')).registerCapture },
  { name: 'analyze', load: async () => (await import('./analyze.js')).registerAnalyze },
  { name: 'diagnose', load: async () => (await import('./diagnose.js')).registerDiagnose },
  { name: 'guard', load: async () => (await import('./guard.js')).registerGuard },
  { name: 'tune', load: async () => (await import('./tune.js')).registerTune },
  { name: 'plan', load: async () => (await import('./plan.js')).registerPlan },
  { name: 'watch', load: async () => (await import('./watch.js')).registerWatch },
  { name: 'serve', load: async () => (await import('./serve.js')).registerServe },
  { name: 'fleet', load: async () => (await import('./fleet.js')).registerFleet },
  { name: 'client', load: async () => (await import('./client.js')).registerClient },
  { name: 'server', load: async () => (await import('./server.js')).registerServer },
  { name: 'probe', load: async () => (await import('./probe.js')).registerProbe },
  { name: 'bench', load: async () => (await import('./bench.js')).registerBench },
  { name: 'proxy', load: async () => (await import('./proxy.js')).registerProxy },
  { name: 'fault', load: async () => (await import('./fault.js')).registerFault },
  { name: 'completion', load: async () => (await import('./completion.js')).registerCompletion },
  { name: 'manpage', load: async () => (await import('./completion.js')).registerManpage },
  { name: 'cleanup', load: async () => (await import('./cleanup.js')).registerCleanup },
];
