/**
 * The snapshot sources over the host's sockets and counters, composed from the backends:
 * sockdiag (or procfs without the addon) for the table, procfs for owners, counters, sysctls
 * and process limits. Each read is synchronous underneath (a netlink dump, /proc reads) and
 * returns data plus Issues; index.ts wraps them as SnapshotSources.
 */
import type { Issue } from '../model/issue.js';
import { issue, issueFromError } from '../model/issue.js';
import type { SocketOwner, TcpSocket } from '../model/socket.js';
import type { TcpState } from '../model/tcp-state.js';
import { TCP_STATES } from '../model/tcp-state.js';
import type { ConnFilter } from '../model/conn-filter.js';
import { compileConnFilter, hasOwnerFilter, ownersMatch } from '../model/conn-filter.js';
import type { CounterSample } from '../model/counters.js';
import type { ListenerChild, ListenerSummary } from '../model/listener.js';
import { ListenerIndex, listenerDumpFilter } from '../model/listener.js';
import type { ProcessResources } from '../model/process.js';
import type { Sysctls } from '../model/sysctl.js';
import { TcpdiagError } from '../errors.js';
import { isRoot, readSysctl } from '../platform/capabilities.js';
import type { NetnsRef } from '../platform/netns.js';
import { readNetnsProcFile, readNetnsSysctl } from '../platform/netns.js';
import type { Snapshot } from './source.js';
import type { ProcRead } from './procfs/proc-read.js';
import { readProcTcpTable } from './procfs/tcp-table.js';
import { scanSocketOwners } from './procfs/processes.js';
import { readTcpCounters } from './procfs/counters.js';
import { readTcpSysctls } from './procfs/sysctl.js';
import { readProcessResources } from './procfs/limits.js';
import { countTcpStates, countTcpStatesWithTotals, dumpTcpSockets, rawDumps, sockDiagAvailable } from './sockdiag/index.js';
import { inodesInDump } from './sockdiag/inet-diag.js';
import { dumpListeners } from './sockdiag/listeners.js';
import type { StateWalkMemo } from './state-walk.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The backends that can give the socket table. */
export type SocketBackend = 'sockdiag' | 'procfs';

export interface SocketQuery {
  /**
   * Keep only the sockets that match. sock_diag applies all of it but the owners in the kernel
   * (states as the state mask, families by request, the expression as bytecode); procfs has no
   * kernel filter, so it is applied here; owners are matched once known.
   */
  readonly filter?: ConnFilter;
  /** tcp_info, memory and congestion control per socket (default true; sockdiag only). */
  readonly withInfo?: boolean;
  /** Owning processes from /proc/PID/fd (default true; always scanned when the filter names owners). */
  readonly withOwners?: boolean;
}

export interface ListenerQuery {
  /** Picks listeners (its remote-end conditions see a listener's wildcard peer). */
  readonly filter?: ConnFilter;
  /** Owning processes, scanned for the listeners' inodes only (default true). */
  readonly withOwners?: boolean;
  /**
   * 'half-open': count only SYN_RECV children, in the listeners' own dump; `established` is
   * then 0 (sockdiag; procfs reads the whole table anyway and counts both). For a caller that
   * reads listeners every second and has the established sockets from elsewhere. A list: the
   * half-open children a state walk found (readCounters with a memo), and the dump is of
   * LISTEN sockets alone, which walks only the listening hash.
   */
  readonly children?: 'all' | 'half-open' | readonly ListenerChild[];
}

export interface ProcessQuery {
  readonly pids: readonly number[];
}

/** Which backend answers (the caller's choice, or the best this host has), and for which network namespace. */
export interface BackendChoice {
  readonly backend?: SocketBackend;
  /** Another network namespace's sockets, counters and net.* sysctls (owners are found across all). */
  readonly netns?: NetnsRef;
  /**
   * Collect sockets, listeners and host snapshots in a worker thread (off-thread.ts), for a
   * process that must keep serving while it collects. Not for one-shot commands.
   */
  readonly offThread?: boolean;
}

const ADDON_HINT = 'npm run install (in the tcpdiag package directory; needs python3, make and g++)';

/** The backend that will answer, and the issue when the one asked for cannot. */
export function resolveSocketBackend(choice: BackendChoice = {}): { backend: SocketBackend; issues: Issue[] } {
  if (choice.backend === 'procfs') return { backend: 'procfs', issues: [] };
  const diag = sockDiagAvailable();
  if (diag.ok) return { backend: 'sockdiag', issues: [] };
  return {
    backend: 'procfs',
    issues: [issue('TCPDIAG_ADDON_MISSING', `netlink sock_diag unavailable (${diag.reason}); reading /proc/net/tcp instead`, ADDON_HINT)],
  };
}

/** procfs files as `netns` shows them (our own namespace when absent). */
function procFrom(netns: NetnsRef | undefined): string | ProcRead {
  return netns === undefined ? '/proc' : (relative) => readNetnsProcFile(netns, relative);
}

function tcpInfoIssue(forced: boolean): Issue {
  return issue('TCPDIAG_FIELD_UNAVAILABLE', 'tcp_info is not in /proc/net/tcp: tcpInfo is null',
    forced ? 'use the sockdiag backend (the default) for tcp_info' : ADDON_HINT);
}

export function backlogIssue(choice: BackendChoice): Issue {
  return issue('TCPDIAG_FIELD_UNAVAILABLE', 'the listen() backlog is not in /proc/net/tcp: BACKLOG is unknown',
    choice.backend === 'procfs' ? 'use the sockdiag backend (the default) for backlogs' : ADDON_HINT);
}

export function readSockets(query: SocketQuery, choice: BackendChoice = {}, signal?: AbortSignal): Snapshot<TcpSocket[]> {
  const { backend, issues } = resolveSocketBackend(choice);
  const withInfo = query.withInfo ?? true;
  const filter = query.filter ?? {};
  const { pids: _pids, process: _process, ...withoutOwners } = filter;
  const takenAtMs = Date.now();
  let sockets: TcpSocket[];
  if (backend === 'sockdiag') {
    sockets = dumpTcpSockets({ withInfo, ...withoutOwners, ...(choice.netns ? { netns: choice.netns.path } : {}) });
  } else {
    sockets = readProcTcpTable(procFrom(choice.netns));
    if (Object.keys(withoutOwners).length > 0) sockets = sockets.filter(compileConnFilter(withoutOwners));
    if (withInfo) issues.push(tcpInfoIssue(choice.backend === 'procfs'));
  }
  const byOwner = hasOwnerFilter(filter);
  if ((query.withOwners ?? true) || byOwner) issues.push(...attachOwners(sockets, signal));
  if (byOwner) sockets = sockets.filter((s) => ownersMatch(filter, s.owners));
  return { data: sockets, issues, takenAtMs };
}

/** Fill pid/process/owners in place from /proc/PID/fd; the issue says when attribution is partial. */
function attachOwners(sockets: readonly TcpSocket[], signal: AbortSignal | undefined): Issue[] {
  const inodes = new Set<number>();
  for (const s of sockets) if (s.inode !== 0) inodes.add(s.inode);
  if (inodes.size === 0) return [];
  const scan = scanOwners(inodes, signal);
  fillOwners(sockets, scan.owners);
  return scan.issues;
}

/** The /proc walk for these inodes (every socket's when undefined), with the issue of a partial one. */
function scanOwners(inodes: ReadonlySet<number> | undefined, signal: AbortSignal | undefined): { owners: ReadonlyMap<number, readonly SocketOwner[]>; issues: Issue[] } {
  const scan = scanSocketOwners({ ...(inodes === undefined ? {} : { inodes }), ...(signal === undefined ? {} : { signal }) });
  if (scan.unreadableProcesses === 0 || isRoot()) return { owners: scan.owners, issues: [] };
  // Measured: listing another user's /proc/PID/fd needs CAP_DAC_READ_SEARCH, reading its links
  // CAP_SYS_PTRACE (platform/privileges.ts).
  return {
    owners: scan.owners,
    issues: [issue('TCPDIAG_NEEDS_ROOT',
      `process names of other users' sockets need CAP_DAC_READ_SEARCH + CAP_SYS_PTRACE or root (${scan.unreadableProcesses} processes unreadable)`,
      'rerun with sudo, or give a service AmbientCapabilities=CAP_DAC_READ_SEARCH CAP_SYS_PTRACE')],
  };
}

function fillOwners(sockets: readonly TcpSocket[], byInode: ReadonlyMap<number, readonly SocketOwner[]>): void {
  // Filled in place: the table is ours until returned, and copying 60k objects costs more
  // than the scan itself.
  for (const s of sockets as Mutable<TcpSocket>[]) {
    const owners = s.inode === 0 ? undefined : byInode.get(s.inode);
    if (owners === undefined) continue;
    s.owners = owners;
    s.pid = owners[0]!.pid;
    s.process = owners[0]!.process;
  }
}

/**
 * Owners as flat columns (one row per inode and process), for handing to another thread: typed
 * arrays move without a copy, where a Map of 60,000 owner lists is cloned object by object.
 */
export interface OwnerColumns {
  readonly inodes: Uint32Array;
  readonly pids: Int32Array;
  readonly fds: Int32Array;
  /** pid -> process name. */
  readonly names: ReadonlyMap<number, string>;
}

function toColumns(byInode: ReadonlyMap<number, readonly SocketOwner[]>): OwnerColumns {
  let rows = 0;
  for (const list of byInode.values()) rows += list.length;
  const inodes = new Uint32Array(rows);
  const pids = new Int32Array(rows);
  const fds = new Int32Array(rows);
  const names = new Map<number, string>();
  let i = 0;
  for (const [inode, list] of byInode) {
    for (const o of list) {
      inodes[i] = inode;
      pids[i] = o.pid;
      fds[i] = o.fd;
      names.set(o.pid, o.process);
      i++;
    }
  }
  return { inodes, pids, fds, names };
}

function fromColumns(columns: OwnerColumns): Map<number, SocketOwner[]> {
  const byInode = new Map<number, SocketOwner[]>();
  for (let i = 0; i < columns.inodes.length; i++) {
    const pid = columns.pids[i]!;
    const owner: SocketOwner = { pid, process: columns.names.get(pid) ?? '?', fd: columns.fds[i]! };
    const list = byInode.get(columns.inodes[i]!);
    if (list) list.push(owner);
    else byInode.set(columns.inodes[i]!, [owner]);
  }
  return byInode;
}

/**
 * A socket read up to the decoding (sockdiag only): the raw netlink dumps, with the kernel's
 * filter applied, and the owners of their inodes when asked. The collection worker does this
 * part (the blocking syscalls) and hands the bytes over without a copy; the thread that wants
 * the table decodes it a slice at a time (decodeInetDiagSlice) and finishes with
 * `finishSocketDumps`. Decoding there costs less than receiving decoded sockets: a structured
 * clone of a socket with its tcp_info costs several times its decoding.
 */
export interface SocketDumps {
  readonly dumps: Buffer[];
  readonly owners: OwnerColumns | null;
  /** The owner conditions of the filter, applied once owners are known. */
  readonly ownerFilter: Pick<ConnFilter, 'pids' | 'process'> | null;
  readonly issues: Issue[];
  readonly takenAtMs: number;
}

/** The sockdiag part of readSockets, or null when procfs answers (its table is text, read whole). */
export function readSocketDumps(query: SocketQuery, choice: BackendChoice = {}, signal?: AbortSignal): SocketDumps | null {
  const { backend, issues } = resolveSocketBackend(choice);
  if (backend !== 'sockdiag') return null;
  const filter = query.filter ?? {};
  const { pids, process, ...withoutOwners } = filter;
  const takenAtMs = Date.now();
  const dumps = rawDumps({ withInfo: query.withInfo ?? true, ...withoutOwners, ...(choice.netns ? { netns: choice.netns.path } : {}) });
  const byOwner = hasOwnerFilter(filter);
  let owners: OwnerColumns | null = null;
  if ((query.withOwners ?? true) || byOwner) {
    const inodes = new Set<number>();
    for (const buf of dumps) inodesInDump(buf, inodes);
    if (inodes.size > 0) {
      const scan = scanOwners(inodes, signal);
      issues.push(...scan.issues);
      owners = toColumns(scan.owners);
    }
  }
  return { dumps, owners, ownerFilter: byOwner ? { ...(pids ? { pids } : {}), ...(process !== undefined ? { process } : {}) } : null, issues, takenAtMs };
}

/**
 * The owners of every socket on the host, as columns: the /proc walk alone, for a reader that
 * runs it beside its dump (another thread) and fills the table with `fillOwnerColumns`.
 */
export function readOwnerColumns(signal?: AbortSignal): Snapshot<OwnerColumns> {
  const takenAtMs = Date.now();
  const scan = scanOwners(undefined, signal);
  return { data: toColumns(scan.owners), issues: scan.issues, takenAtMs };
}

/** Fill a table's owners in place from a walk taken apart (readOwnerColumns). */
export function fillOwnerColumns(sockets: readonly TcpSocket[], columns: OwnerColumns): void {
  fillOwners(sockets, fromColumns(columns));
}

/** The decoded table of `readSocketDumps`, with owners filled in and the owner filter applied. */
export function finishSocketDumps(sockets: TcpSocket[], read: Pick<SocketDumps, 'owners' | 'ownerFilter'>): TcpSocket[] {
  if (read.owners !== null) fillOwners(sockets, fromColumns(read.owners));
  const ownerFilter = read.ownerFilter;
  return ownerFilter === null ? sockets : sockets.filter((s) => ownersMatch(ownerFilter, s.owners));
}

/**
 * Listeners with their accept queues, backlogs and children. With sockdiag only LISTEN sockets
 * are decoded and only their inodes looked up in /proc; children are counted in place
 * (sockdiag/listeners.ts). procfs reads the whole table, which has no backlog. The dump is
 * narrowed only by what children share with their listener (listenerDumpFilter); the whole
 * filter then picks listeners, owners known.
 */
export function readListeners(query: ListenerQuery, choice: BackendChoice = {}, signal?: AbortSignal): Snapshot<ListenerSummary[]> {
  const { backend, issues } = resolveSocketBackend(choice);
  const filter = query.filter ?? {};
  const dumpFilter = listenerDumpFilter(filter);
  const takenAtMs = Date.now();
  let listeners: TcpSocket[];
  let index: ListenerIndex;
  if (backend === 'sockdiag') {
    ({ listeners, index } = dumpListeners({
      ...(dumpFilter.families ? { families: dumpFilter.families } : {}),
      ...(dumpFilter.expr ? { expr: dumpFilter.expr } : {}),
      ...(choice.netns ? { netns: choice.netns.path } : {}),
      ...(query.children ? { children: query.children } : {}),
    }));
  } else {
    const table = readProcTcpTable(procFrom(choice.netns)).filter(compileConnFilter(dumpFilter));
    listeners = table.filter((s) => s.state === 'LISTEN');
    index = new ListenerIndex(listeners);
    for (const s of table) {
      if (s.state === 'SYN_RECV' || s.state === 'ESTABLISHED') index.add({ family: s.family, address: s.local.address, port: s.local.port, state: s.state });
    }
    issues.push(backlogIssue(choice));
  }
  if ((query.withOwners ?? true) || hasOwnerFilter(filter)) issues.push(...attachOwners(listeners, signal));
  return { data: index.summaries(backend === 'sockdiag', compileConnFilter(filter)), issues, takenAtMs };
}

/** Listeners from a table already read (the host snapshot reuses its dump). */
export function listenersFromTable(table: readonly TcpSocket[], backlogKnown: boolean, filter: ConnFilter = {}): ListenerSummary[] {
  const index = new ListenerIndex(table.filter((s) => s.state === 'LISTEN'));
  for (const s of table) {
    if (s.state === 'SYN_RECV' || s.state === 'ESTABLISHED') index.add({ family: s.family, address: s.local.address, port: s.local.port, state: s.state });
  }
  return index.summaries(backlogKnown, compileConnFilter(filter));
}

/** Every state at zero, in the kernel's order (stats prints them all). */
export function zeroStates(): Record<TcpState, number> {
  return Object.fromEntries(TCP_STATES.map((s) => [s, 0])) as Record<TcpState, number>;
}

/**
 * The kernel's TCP counters, and the socket count of every state, read together. With `memo`
 * (a reader every second) the state walk is left out while the counters say no socket changed
 * state (state-walk.ts), and the sample carries the SYN_RECV sockets' local ends (`halfOpen`).
 */
export function readCounters(choice: BackendChoice = {}, memo?: StateWalkMemo): Snapshot<CounterSample> {
  const { backend, issues } = resolveSocketBackend(choice);
  const { netns } = choice;
  const states = zeroStates();
  const counters = readTcpCounters(procFrom(netns));
  // Both clocks at the moment the counters were read, not after the state walk (0-50 ms later,
  // varying with the table): rates are over monotonicMs and charted at takenAtMs, so a walk's
  // time taken into one and not the other made rate x interval miss the count (10.44/s over a
  // 1 s step for 11 FINs in test/dashboard-traffic.test.ts).
  const takenAtMs = Date.now();
  const monotonicMs = performance.now();
  const currEstab = counters.CurrEstab;
  const timewaitSockets = counters.SockstatTw;
  if (backend === 'sockdiag' && currEstab !== undefined && timewaitSockets !== undefined) {
    // ESTABLISHED and TIME_WAIT, usually the bulk of the table, from the kernel's own totals
    // (countTcpStatesWithTotals says how); 60k established + 30k TIME_WAIT sockets: the dump
    // takes ~3 ms instead of ~25.
    const nowMs = performance.now();
    let walk = memo?.reusable(counters, nowMs) ?? null;
    if (walk === null) {
      const halfOpen: ListenerChild[] = [];
      walk = { states: countTcpStatesWithTotals({ currEstab, timewaitSockets }, netns?.path, halfOpen), halfOpen };
      memo?.remember(counters, nowMs, walk);
    }
    Object.assign(states, walk.states);
    if (memo !== undefined) return { data: { states, counters, monotonicMs, halfOpen: walk.halfOpen }, issues, takenAtMs };
  } else if (backend === 'sockdiag') {
    Object.assign(states, countTcpStates(netns?.path));
  } else {
    for (const s of readProcTcpTable(procFrom(netns))) states[s.state]++;
  }
  if (Object.keys(counters).length === 0) {
    issues.push(issue('TCPDIAG_KERNEL_FEATURE', 'no TCP counters in /proc/net/snmp or /proc/net/netstat',
      'mount procfs: mount -t proc proc /proc'));
  }
  return { data: { states, counters, monotonicMs }, issues, takenAtMs };
}

/** The TCP sysctls; a namespace's net.* ones are read from inside it (through the addon). */
export function readSysctls(choice: BackendChoice = {}): Snapshot<Sysctls> {
  const { netns } = choice;
  const takenAtMs = Date.now();
  if (netns === undefined) return { data: readTcpSysctls(), issues: [], takenAtMs };
  const data = readTcpSysctls((name) => (name.startsWith('net.') ? readNetnsSysctl(netns, name) : readSysctl(name)));
  const diag = sockDiagAvailable();
  const issues = diag.ok ? [] : [issue('TCPDIAG_ADDON_MISSING', `the namespace's net.* sysctls need the native addon to be read (${diag.reason}): they show as null`, ADDON_HINT)];
  return { data, issues, takenAtMs };
}

export function readProcesses(query: ProcessQuery, signal?: AbortSignal): Snapshot<ProcessResources[]> {
  const takenAtMs = Date.now();
  const scan = readProcessResources(new Set(query.pids), '/proc', signal);
  const issues: Issue[] = [];
  if (scan.unreadable > 0 && !isRoot()) {
    issues.push(issue('TCPDIAG_NEEDS_ROOT', `open file counts of other users' processes need CAP_DAC_READ_SEARCH or root (${scan.unreadable} unreadable)`,
      'rerun with sudo, or give a service AmbientCapabilities=CAP_DAC_READ_SEARCH'));
  }
  return { data: scan.processes, issues, takenAtMs };
}

/**
 * Run a read that may fail as a whole (a /proc file gone, netlink refused): an expected error
 * becomes the Issue of an empty answer, so one part of a host snapshot cannot sink the rest.
 */
export function orIssue<T>(read: () => Snapshot<T>, empty: T): Snapshot<T> {
  try {
    return read();
  } catch (error: unknown) {
    if (!(error instanceof TcpdiagError)) throw error;
    return { data: empty, issues: [issueFromError(error)], takenAtMs: Date.now() };
  }
}
