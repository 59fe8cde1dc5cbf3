/**
 * The real I/O behind `tcpdiag diagnose`, built here so the session sees only snapshots with
 * issues: the socket table (sock_diag with tcp_info, else /proc/net/tcp), the kernel's TCP and
 * ICMP counters, the sysctls, process and host resources, the kernel event stream when root
 * allows, and the service's logs (a file tail, or journalctl).
 *
 * With a network namespace, the sockets, counters, net.* sysctls and events are that
 * namespace's (events through bpftrace, which tests each socket's namespace in the kernel);
 * processes, CPU, memory and the host figures are the host's: they are not per namespace.
 */
import type { Snapshot } from './source.js';
import type { TraceIo } from './source.js';
import type { Counters } from '../model/counters.js';
import type { Issue } from '../model/issue.js';
import { issue, issueFromError } from '../model/issue.js';
import type { HostSample, ProcessSample } from '../model/resources.js';
import type { TcpSocket } from '../model/socket.js';
import { TcpdiagError } from '../errors.js';
import { isRoot } from '../platform/capabilities.js';
import { fillOwnerColumns, readSockets, resolveSocketBackend } from './sockets.js';
import type { OwnerColumns } from './sockets.js';
import { collectOffThread, warmOffThread } from './off-thread.js';
import { readTcpCounters } from './procfs/counters.js';
import { readTcpSysctls } from './procfs/sysctl.js';
import { readAllProcessCpu, readHostSample, readIcmpCounters, readProcessSample } from './procfs/resources.js';
import { LogFileTail } from './logs/file-tail.js';
import { readJournal } from './logs/journal.js';
import type { JournalResult } from './logs/journal.js';
import { createTraceIo, ensureTracefs } from './trace.js';
import { readSysctl } from '../platform/capabilities.js';
import type { Scope } from '../platform/scope.js';
import type { NetnsRef } from '../platform/netns.js';
import { readNetnsProcFile, readNetnsSysctl } from '../platform/netns.js';

/** Sysctls the rules read beyond the TCP set that `stats` shows. */
const EXTRA_SYSCTLS = ['net.ipv4.tcp_timestamps', 'net.ipv4.ip_local_reserved_ports'] as const;

export interface SocketSnapshot extends Snapshot<readonly TcpSocket[]> {
  /** Whether each socket carries tcp_info (sock_diag), not only the /proc/net/tcp columns. */
  readonly tcpInfo: boolean;
}

export type EventAccess =
  | { readonly ok: true; readonly io: TraceIo; readonly note: string | null }
  | { readonly ok: false; readonly issue: Issue };

export interface DiagnoseSources {
  sockets(withOwners: boolean): SocketSnapshot;
  /**
   * The table with owners, for the end of a window: the same answer as `sockets(true)`, with the
   * /proc walk run in the collection worker while this thread dumps and decodes, so the two
   * overlap instead of following each other.
   */
  socketsWithOwners(signal: AbortSignal): Promise<SocketSnapshot>;
  /** Start what socketsWithOwners uses (the collection worker), so it is up when the window ends. */
  prepareEnd(): void;
  counters(): Snapshot<Counters>;
  sysctls(): Snapshot<Record<string, string | null>>;
  /** CPU time of every process (the window's start: owners are not known yet). */
  processCpu(): Snapshot<readonly ProcessSample[]>;
  processes(pids: readonly number[]): Snapshot<readonly ProcessSample[]>;
  host(): Snapshot<HostSample>;
  /** The kernel event stream, or why it cannot be opened here. */
  events(): EventAccess;
  logFile(path: string): LogFileTail;
  journal(unit: string, sinceMs: number, untilMs: number, capBytes: number, signal?: AbortSignal): Promise<JournalResult>;
}

export interface DiagnoseSourcesOptions {
  readonly traceBufferKb: number;
  /** Owns what tracing sets up in the kernel (the tracefs instance). */
  readonly scope: Scope;
  /** Only this network namespace's sockets, counters, sysctls and events. */
  readonly netns?: NetnsRef;
}

function snapshot<T>(data: T, issues: Issue[] = []): Snapshot<T> {
  return { data, issues, takenAtMs: Date.now() };
}

export function createDiagnoseSources(options: DiagnoseSourcesOptions): DiagnoseSources {
  const { netns } = options;
  const inNetns = netns === undefined ? {} : { netns };
  const proc = netns === undefined ? '/proc' : (relative: string) => readNetnsProcFile(netns, relative);
  const sysctl = netns === undefined ? readSysctl : (name: string) => (name.startsWith('net.') ? readNetnsSysctl(netns, name) : readSysctl(name));
  return {
    sockets(withOwners) {
      // The registry's read (sockets.ts): its issues say what fell back (no sock_diag, no
      // tcp_info) and which owners could not be read, with codes.
      const { backend } = resolveSocketBackend(inNetns);
      const table = readSockets({ withInfo: true, withOwners }, inNetns);
      return { ...table, tcpInfo: backend === 'sockdiag' };
    },
    async socketsWithOwners(signal) {
      const { backend } = resolveSocketBackend(inNetns);
      // Owners are found by inode, which is unique across namespaces: the walk is the host's.
      const walk = collectOffThread('owners', undefined, {}, signal) as Promise<Snapshot<OwnerColumns>>;
      // If this thread's read throws, the walk's outcome is not wanted: no unhandled rejection.
      walk.catch(() => undefined);
      const table = readSockets({ withInfo: true, withOwners: false }, inNetns);
      const owners = await walk;
      fillOwnerColumns(table.data, owners.data);
      return { ...table, issues: [...table.issues, ...owners.issues], tcpInfo: backend === 'sockdiag' };
    },
    prepareEnd() {
      warmOffThread();
    },
    counters() {
      return snapshot({ ...readTcpCounters(proc), ...readIcmpCounters(proc) });
    },
    sysctls() {
      const values = readTcpSysctls(sysctl);
      for (const name of EXTRA_SYSCTLS) values[name] = sysctl(name);
      return snapshot(values);
    },
    processCpu() {
      return snapshot(readAllProcessCpu());
    },
    processes(pids) {
      const samples = pids.flatMap((pid) => {
        const s = readProcessSample(pid);
        return s === null ? [] : [s];
      });
      const issues = !isRoot() && samples.some((s) => s.openFds === null)
        ? [issue('TCPDIAG_NEEDS_ROOT', 'open files of other users\' processes cannot be counted', 'run with sudo')]
        : [];
      return snapshot(samples, issues);
    },
    host() {
      return snapshot(readHostSample());
    },
    events() {
      try {
        const location = ensureTracefs('tcpdiag diagnose');
        return { ok: true, io: createTraceIo({ root: location.root, bufferKb: options.traceBufferKb, scope: options.scope, ...inNetns }), note: location.note };
      } catch (error: unknown) {
        if (error instanceof TcpdiagError) return { ok: false, issue: issueFromError(error) };
        throw error;
      }
    },
    logFile: (path) => LogFileTail.start(path),
    journal: readJournal,
  };
}
