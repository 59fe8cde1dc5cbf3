/**
 * The real I/O behind `tcpdiag trace`: tracefs (or bpftrace for --detail) as the event
 * source, /proc for process attribution, the socket table and the kernel's counters.
 *
 * With a network namespace, events come from bpftrace, which tests each event's socket's
 * namespace in the kernel (ebpf/script.ts): the tracepoints have no namespace field, so
 * tracefs cannot tell them apart. The table, listeners and counters are that namespace's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSavedTasks } from './tracefs/saved-tasks.js';
import type { TraceIo } from './source.js';
import { readTcpCounters } from './procfs/counters.js';
import { readSocketTable } from './index.js';
import { ProcProcessLookup } from './procfs/process-lookup.js';
import { parseEventFormat, symbolicNames } from './tracefs/format.js';
import { TracefsTcpSource } from './tracefs/source.js';
import { TCP_TRACEPOINTS } from './tracefs/tcp-events.js';
import type { Scope } from '../platform/scope.js';
import type { NetnsRef } from '../platform/netns.js';
import { readNetnsProcFile } from '../platform/netns.js';

export { ensureTracefs } from './tracefs/mount.js';
export { removeInstanceDirectory } from './tracefs/instance.js';

/** States a socket can retransmit or be reset in (not LISTEN, not the TIME_WAIT mini-socket). */
const CONNECTED = ['SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT1', 'FIN_WAIT2', 'CLOSE_WAIT', 'LAST_ACK', 'CLOSING'] as const;

export interface TraceIoOptions {
  readonly root: string;
  readonly bufferKb: number;
  /** Owns the event sources opened (tracefs instances, bpftrace children). */
  readonly scope: Scope;
  /** Only this network namespace's events, sockets and counters. */
  readonly netns?: NetnsRef;
}

export function createTraceIo(options: TraceIoOptions): TraceIo {
  const { netns } = options;
  const inNetns = netns === undefined ? {} : { netns };
  return {
    openSource: async (tracepoints, detail) => {
      // kfree_skb records no addresses and only the L3 protocol: TCP drops need eBPF, which
      // reads both from the packet (sources/ebpf/script.ts). The trace drops mode uses it.
      if (detail || netns !== undefined || tracepoints.some((t) => t.name === 'kfree_skb')) {
        const { BpftraceSource } = await import('./ebpf/bpftrace.js');
        const { setDropReasonNames, setResetReasonNames } = await import('./ebpf/parse.js');
        setResetReasonNames(resetReasonNames(options.root));
        if (tracepoints.some((t) => t.name === 'kfree_skb')) setDropReasonNames(symbolicNamesOf(options.root, 'skb/kfree_skb', 'reason'));
        return BpftraceSource.open({ probes: tracepoints, retransmitErr: retransmitHasErr(options.root), scope: options.scope, detail, ...(netns ? { netnsInode: netns.inode } : {}) });
      }
      return TracefsTcpSource.open({
        root: options.root,
        bufferKb: options.bufferKb,
        scope: options.scope,
        tracepoints: tracepoints.map(({ name, filter }) => {
          const spec = TCP_TRACEPOINTS.find((t) => t.event === name);
          if (spec === undefined) throw new Error(`unknown tracepoint ${name}`);
          return { spec, filter };
        }),
      });
    },
    processes: new ProcProcessLookup({
      listListeners: () => readSocketTable({ filter: { states: ['LISTEN'] }, withInfo: false, withProcesses: true, ...inNetns }).sockets,
      savedTasks: () => readSavedTasks(options.root),
      listConnections: () => readSocketTable({ filter: { states: CONNECTED }, withInfo: false, withProcesses: true, ...inNetns }).sockets,
    }),
    socketTable: () => readSocketTable({ withInfo: false, withProcesses: false, ...inNetns }).sockets,
    counters: () => readTcpCounters(netns === undefined ? '/proc' : (relative) => readNetnsProcFile(netns, relative)),
  };
}

function retransmitHasErr(root: string): boolean {
  try {
    return parseEventFormat(readFileSync(join(root, 'events/tcp/tcp_retransmit_skb/format'), 'utf8')).fields.has('err');
  } catch {
    return false;
  }
}

function resetReasonNames(root: string): Map<number, string> {
  return symbolicNamesOf(root, 'tcp/tcp_send_reset', 'reason');
}

/** A field's __print_symbolic names from the running kernel's format file (none when unreadable). */
function symbolicNamesOf(root: string, event: string, field: string): Map<number, string> {
  try {
    return symbolicNames(parseEventFormat(readFileSync(join(root, `events/${event}/format`), 'utf8')), field);
  } catch {
    return new Map();
  }
}
