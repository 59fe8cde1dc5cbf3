/**
 * The only module that imports concrete backends (style guide, habit 1). Commands and the agent
 * ask for a socket table or a counter snapshot here and get data plus warnings that say what
 * was degraded (no root, no addon), never a crash for a missing capability.
 */
import type { TcpSocket } from '../model/socket.js';
import type { TcpState } from '../model/tcp-state.js';
import type { ConnFilter } from '../model/conn-filter.js';
import { compileConnFilter, hasOwnerFilter, ownersMatch } from '../model/conn-filter.js';
import { isRoot, readSysctl } from '../platform/capabilities.js';
import type { NetnsRef } from '../platform/netns.js';
import { readNetnsProcFile, readNetnsSysctl } from '../platform/netns.js';
import type { ProcRead } from './procfs/proc-read.js';
import { readProcTcpTable } from './procfs/tcp-table.js';
import { scanSocketOwners } from './procfs/processes.js';
import { readTcpCounters } from './procfs/counters.js';
import type { Counters } from '../model/counters.js';
import { readTcpSysctls } from './procfs/sysctl.js';
import { countTcpStates, countTcpStatesWithTotals, dumpTcpSockets, sockDiagAvailable } from './sockdiag/index.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export type SocketSourceName = 'sockdiag' | 'procfs';

export interface SocketTableOptions {
  /**
   * Keep only the sockets that match. sock_diag applies all of it but the owners in the
   * kernel (states as the state mask, families by request, the expression as bytecode);
   * procfs has no kernel filter, so it is applied here; owners are matched once known.
   */
  readonly filter?: ConnFilter;
  readonly withInfo?: boolean;
  readonly withProcesses?: boolean;
  /** Force a backend (tests, or --source). */
  readonly source?: SocketSourceName;
  /** Another network namespace's sockets (owners are found across all namespaces). */
  readonly netns?: NetnsRef;
}

/** procfs files as `netns` shows them (our own namespace when absent). */
function procFrom(netns: NetnsRef | undefined): string | ProcRead {
  return netns === undefined ? '/proc' : (relative) => readNetnsProcFile(netns, relative);
}

export interface SocketTable {
  readonly sockets: TcpSocket[];
  readonly source: SocketSourceName;
  readonly takenAtMs: number;
  /** What was degraded and how to get it back. */
  readonly warnings: string[];
}

export function readSocketTable(options: SocketTableOptions = {}): SocketTable {
  const warnings: string[] = [];
  const diag = sockDiagAvailable();
  let source: SocketSourceName = options.source ?? (diag.ok ? 'sockdiag' : 'procfs');
  let sockets: TcpSocket[];
  if (source === 'sockdiag' && !diag.ok) {
    warnings.push(`netlink sock_diag unavailable (${diag.reason}); using /proc/net/tcp without tcp_info`);
    source = 'procfs';
  }
  const takenAtMs = Date.now();
  const filter = options.filter ?? {};
  const { pids: _pids, process: _process, ...withoutOwners } = filter;
  if (source === 'sockdiag') {
    sockets = dumpTcpSockets({ withInfo: options.withInfo ?? true, ...withoutOwners, ...(options.netns ? { netns: options.netns.path } : {}) });
  } else {
    sockets = readProcTcpTable(procFrom(options.netns));
    if (Object.keys(withoutOwners).length > 0) sockets = sockets.filter(compileConnFilter(withoutOwners));
    if (options.withInfo ?? true) warnings.push('tcp_info is not in /proc/net/tcp: tcpInfo is null (build the native addon for it)');
  }
  const byOwner = hasOwnerFilter(filter);
  if ((options.withProcesses ?? true) || byOwner) {
    const inodes = new Set<number>();
    for (const s of sockets) if (s.inode !== 0) inodes.add(s.inode);
    const scan = scanSocketOwners({ inodes });
    if (scan.unreadableProcesses > 0 && !isRoot()) {
      // Measured: listing another user's /proc/PID/fd needs CAP_DAC_READ_SEARCH, reading its
      // links CAP_SYS_PTRACE (platform/privileges.ts).
      warnings.push(`process names of other users' sockets need CAP_DAC_READ_SEARCH + CAP_SYS_PTRACE or root (${scan.unreadableProcesses} processes unreadable): rerun with sudo, or give a service AmbientCapabilities=CAP_DAC_READ_SEARCH CAP_SYS_PTRACE`);
    }
    // Filled in place: the table is ours until returned, and copying 60k objects costs more
    // than the scan itself.
    for (const s of sockets as Mutable<TcpSocket>[]) {
      const owners = s.inode === 0 ? undefined : scan.owners.get(s.inode);
      if (owners === undefined) continue;
      s.owners = owners;
      s.pid = owners[0]!.pid;
      s.process = owners[0]!.process;
    }
  }
  if (byOwner) sockets = sockets.filter((s) => ownersMatch(filter, s.owners));
  return { sockets, source, takenAtMs, warnings };
}

export interface CounterSnapshot {
  readonly takenAtMs: number;
  /** Monotonic clock for rates, immune to wall-clock steps. */
  readonly monotonicMs: number;
  readonly states: Record<TcpState, number>;
  readonly counters: Counters;
  readonly sysctl: Record<string, string | null>;
  readonly warnings: string[];
}

const ALL_STATES: readonly TcpState[] = [
  'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT',
  'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING',
];

export interface CounterSnapshotOptions {
  /** Another network namespace's counters, states and sysctls. */
  readonly netns?: NetnsRef;
}

export function readCounterSnapshot(options: CounterSnapshotOptions = {}): CounterSnapshot {
  const warnings: string[] = [];
  const { netns } = options;
  const states = Object.fromEntries(ALL_STATES.map((s) => [s, 0])) as Record<TcpState, number>;
  const counters = readTcpCounters(procFrom(netns));
  const diag = sockDiagAvailable();
  const currEstab = counters.CurrEstab;
  const timewaitSockets = counters.SockstatTw;
  if (diag.ok && currEstab !== undefined && timewaitSockets !== undefined) {
    // ESTABLISHED and TIME_WAIT, usually the bulk of the table, from the kernel's own totals
    // (countTcpStatesWithTotals says how); 60k established + 30k TIME_WAIT sockets: the dump
    // takes ~3 ms instead of ~25.
    Object.assign(states, countTcpStatesWithTotals({ currEstab, timewaitSockets }, netns?.path));
  } else if (diag.ok) {
    Object.assign(states, countTcpStates(netns?.path));
  } else {
    warnings.push(`netlink sock_diag unavailable (${diag.reason}); state counts from /proc/net/tcp`);
    for (const s of readProcTcpTable(procFrom(netns))) states[s.state]++;
  }
  let sysctl: Record<string, string | null>;
  if (netns === undefined) sysctl = readTcpSysctls();
  else {
    sysctl = readTcpSysctls((name) => (name.startsWith('net.') ? readNetnsSysctl(netns, name) : readSysctl(name)));
    if (!diag.ok) warnings.push(`the namespace's net.* sysctls need the native addon to be read (${diag.reason}): they show as null`);
  }
  return {
    takenAtMs: Date.now(),
    monotonicMs: performance.now(),
    states,
    counters,
    sysctl,
    warnings,
  };
}

export type { Counters };
