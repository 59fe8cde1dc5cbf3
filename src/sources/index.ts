/**
 * The one factory of sources (style guide, habit 1). Commands, sessions and the agent ask here
 * for what they need and get a SnapshotSource or an EventSource (source.ts); which backend
 * answers is decided here, from what this host has, and said in `backend` and in the issues.
 *
 * Snapshot sources (here): the socket table (sockdiag, procfs without the addon), listeners,
 * counters with state counts, sysctls, processes' open files and limits, and all of them in
 * one window (`hostSource`). Event sources (events.ts, beside this file): kernel TCP events
 * (tracefs, bpftrace) and packets (capture files, tcpdump). They are apart so that the
 * snapshot commands' start-up bundles (dist/fast/) do not carry the tracing and capture
 * backends: with them, stats.cjs grew from 177 KB to 277 KB. `backendStatus()` says what
 * every backend, of either kind, can do on this host.
 */
import type { CounterSample } from '../model/counters.js';
import type { HostData } from '../model/host.js';
import type { ListenerSummary } from '../model/listener.js';
import type { ProcessResources } from '../model/process.js';
import type { TcpSocket } from '../model/socket.js';
import type { Sysctls } from '../model/sysctl.js';
import type { Snapshot, SnapshotSource } from './source.js';
import type { BackendChoice, ListenerQuery, ProcessQuery, SocketQuery } from './sockets.js';
import { readCounters, readListeners, readProcesses, readSockets, readSysctls, resolveSocketBackend } from './sockets.js';
import type { HostQuery } from './host.js';
import { readHost } from './host.js';
import type { OffThreadKind } from './off-thread.js';
import { StateWalkMemo } from './state-walk.js';

export type { BackendChoice, ListenerQuery, ProcessQuery, SocketBackend, SocketQuery } from './sockets.js';
export type { HostQuery } from './host.js';
export { backendStatus } from './status.js';
export { TableWitness, WITNESSED_MAX_AGE_MS } from './state-walk.js';

/**
 * A snapshot source over a synchronous read. The read checks `signal` between its steps (a
 * dump, then the /proc scan); an abort rejects with the signal's reason.
 */
function snapshotSource<T, Q>(backend: string, read: (query: Q, signal: AbortSignal) => Snapshot<T>): SnapshotSource<T, Q> {
  return {
    backend,
    collect: (signal, query) => new Promise((resolve) => {
      // Inside the executor, a throw (an abort, a failed read) becomes the rejection.
      signal.throwIfAborted();
      resolve(read(query, signal));
    }),
  };
}

/** The same reads in the process's collection worker (`choice.offThread`). */
function offThreadSource<T, Q>(backend: string, kind: OffThreadKind, choice: BackendChoice): SnapshotSource<T, Q> {
  const { offThread: _offThread, ...rest } = choice;
  return {
    backend,
    collect: async (signal, query) => {
      const { collectOffThread } = await import('./off-thread.js');
      return collectOffThread(kind, query, rest, signal) as Promise<Snapshot<T>>;
    },
  };
}

/** Every TCP socket (or those of the query's states and families), with tcp_info and owners as asked. */
export function socketSource(choice: BackendChoice = {}): SnapshotSource<TcpSocket[], SocketQuery> {
  const backend = resolveSocketBackend(choice).backend;
  if (choice.offThread === true) return offThreadSource(backend, 'sockets', choice);
  return snapshotSource(backend, (query, signal) => readSockets(query, choice, signal));
}

/** Listening sockets with backlog, accept queue, half-open and established children, and owners. */
export function listenerSource(choice: BackendChoice = {}): SnapshotSource<ListenerSummary[], ListenerQuery> {
  const backend = resolveSocketBackend(choice).backend;
  if (choice.offThread === true) return offThreadSource(backend, 'listeners', choice);
  return snapshotSource(backend, (query, signal) => readListeners(query, choice, signal));
}

/**
 * The kernel's TCP counters (snmp, netstat, sockstat) and the socket count of every state.
 * `reuseWalk`: a reader every second, which walks the socket table for the state counts only
 * when the counters say a socket can have changed state (state-walk.ts), and gets the
 * half-open children with them.
 */
export function counterSource(choice: BackendChoice = {}, options: { readonly reuseWalk?: boolean } = {}): SnapshotSource<CounterSample, void> {
  const memo = options.reuseWalk === true ? new StateWalkMemo() : undefined;
  return snapshotSource(resolveSocketBackend(choice).backend, () => readCounters(choice, memo));
}

export function sysctlSource(choice: BackendChoice = {}): SnapshotSource<Sysctls, void> {
  return snapshotSource('procfs', () => readSysctls(choice));
}

/** Open files, RLIMIT_NOFILE and threads of the given processes. */
export function processSource(): SnapshotSource<ProcessResources[], ProcessQuery> {
  return snapshotSource('procfs', (query, signal) => readProcesses(query, signal));
}

/** Sockets, listeners, counters, sysctls and processes in one window (see host.ts). */
export function hostSource(choice: BackendChoice = {}): SnapshotSource<HostData, HostQuery> {
  const backend = resolveSocketBackend(choice).backend;
  if (choice.offThread === true) return offThreadSource(backend, 'host', choice);
  return snapshotSource(backend, (query, signal) => readHost(query, choice, signal));
}
