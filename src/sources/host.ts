/**
 * The host snapshot: sockets (with tcp_info and owners), listeners, counters, sysctls and the
 * owning processes' open files and limits, read back to back in one window. Parts share work:
 * listeners come out of the socket table when it already holds their states, and "the owners'
 * processes" are the pids the table named. One part failing as a whole becomes an issue and a
 * null, never the loss of the rest.
 */
import type { Issue } from '../model/issue.js';
import type { HostData } from '../model/host.js';
import type { ListenerSummary } from '../model/listener.js';
import type { TcpSocket } from '../model/socket.js';
import type { TcpState } from '../model/tcp-state.js';
import { hasOwnerFilter } from '../model/conn-filter.js';
import type { Snapshot } from './source.js';
import type { BackendChoice, ListenerQuery, ProcessQuery, SocketQuery } from './sockets.js';
import {
  backlogIssue, listenersFromTable, orIssue, readCounters, readListeners, readProcesses, readSockets, readSysctls, resolveSocketBackend,
} from './sockets.js';

export interface HostQuery {
  readonly sockets?: SocketQuery;
  readonly listeners?: ListenerQuery;
  readonly counters?: boolean;
  readonly sysctls?: boolean;
  /** `owners`: every process that owns a socket or listener read here; or these pids. */
  readonly processes?: 'owners' | ProcessQuery;
}

const LISTENER_STATES: readonly TcpState[] = ['LISTEN', 'SYN_RECV', 'ESTABLISHED'];

/**
 * The table can stand in for a listener dump: it holds every listener and child the listener
 * query could want (their states, their families, no endpoint or owner condition), and their
 * owners when those are wanted.
 */
function tableServesListeners(sockets: SocketQuery, listeners: ListenerQuery): boolean {
  const f = sockets.filter ?? {};
  const states = f.states;
  const families = f.families;
  return (states === undefined || LISTENER_STATES.every((s) => states.includes(s)))
    && (families === undefined || (listeners.filter?.families ?? [4, 6]).every((fam) => families.includes(fam)))
    && f.expr === undefined && !hasOwnerFilter(f)
    && ((sockets.withOwners ?? true) || !(listeners.withOwners ?? true));
}

export function readHost(query: HostQuery, choice: BackendChoice = {}, signal?: AbortSignal): Snapshot<HostData> {
  const startMs = Date.now();
  const parts: Snapshot<unknown>[] = [];
  const take = <T>(snapshot: Snapshot<T>): T => {
    parts.push(snapshot);
    signal?.throwIfAborted();
    return snapshot.data;
  };
  signal?.throwIfAborted();
  const counters = query.counters === true ? take(orIssue(() => readCounters(choice), null)) : null;
  let sockets: TcpSocket[] | null = null;
  if (query.sockets !== undefined) {
    const socketQuery = query.sockets;
    sockets = take(orIssue(() => readSockets(socketQuery, choice, signal), null));
  }
  let listeners: ListenerSummary[] | null = null;
  if (query.listeners !== undefined) {
    const listenerQuery = query.listeners;
    if (sockets !== null && query.sockets !== undefined && tableServesListeners(query.sockets, listenerQuery)) {
      const backlogKnown = resolveSocketBackend(choice).backend === 'sockdiag';
      listeners = listenersFromTable(sockets, backlogKnown, listenerQuery.filter);
      if (!backlogKnown) parts.push({ data: null, takenAtMs: startMs, issues: [backlogIssue(choice)] });
    } else {
      listeners = take(orIssue(() => readListeners(listenerQuery, choice, signal), null));
    }
  }
  const sysctls = query.sysctls === true ? take(readSysctls(choice)) : null;
  let processes = null;
  if (query.processes !== undefined) {
    const pids = query.processes === 'owners' ? ownerPids(sockets, listeners) : query.processes.pids;
    processes = take(readProcesses({ pids }, signal));
  }
  const endMs = Date.now();
  return {
    data: { sockets, listeners, counters, sysctls, processes, window: { startMs, endMs } },
    issues: dedupe(parts.flatMap((p) => p.issues)),
    takenAtMs: startMs,
  };
}

function ownerPids(sockets: readonly TcpSocket[] | null, listeners: readonly ListenerSummary[] | null): number[] {
  const pids = new Set<number>();
  for (const s of sockets ?? []) for (const o of s.owners) pids.add(o.pid);
  for (const l of listeners ?? []) for (const o of l.owners) pids.add(o.pid);
  return [...pids].sort((a, b) => a - b);
}

function dedupe(issues: readonly Issue[]): Issue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.code}\n${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
