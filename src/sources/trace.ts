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
import type { TcpEventSource, TraceIo, TracepointRequest } from './source.js';
import { readTcpCounters } from './procfs/counters.js';
import { readSockets } from './sockets.js';
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

export interface TcpEventOptions extends TraceIoOptions {
  readonly tracepoints: readonly TracepointRequest[];
  /** bpftrace, reading socket fields at each event, instead of tracefs. */
  readonly detail: boolean;
  readonly signal?: AbortSignal;
}

/** The kernel TCP event stream: a private tracefs instance, or bpftrace for --detail. */
export async function openTcpEventSource(options: TcpEventOptions): Promise<TcpEventSource> {
  const { signal, tracepoints, scope, netns, detail } = options;
  signal?.throwIfAborted();
  // tracepoints carry no namespace: a namespace's events come from bpftrace, which can test
  // the socket's namespace in the kernel. kfree_skb records no addresses and only the L3
  // protocol: TCP drops need eBPF too, which reads both from the packet (ebpf/script.ts).
  const drops = tracepoints.some((t) => t.name === 'kfree_skb');
  if (detail || netns !== undefined || drops) {
    const { BpftraceSource } = await import('./ebpf/bpftrace.js');
    const { setDropReasonNames, setResetReasonNames } = await import('./ebpf/parse.js');
    setResetReasonNames(resetReasonNames(options.root));
    if (drops) setDropReasonNames(symbolicNamesOf(options.root, 'skb/kfree_skb', 'reason'));
    return BpftraceSource.open({
      probes: tracepoints,
      retransmitErr: retransmitHasErr(options.root),
      scope,
      detail,
      ...(netns ? { netnsInode: netns.inode } : {}),
      ...(signal === undefined ? {} : { signal }),
    });
  }
  // Opening is synchronous (tracefs writes): nothing to interrupt once it has begun.
  return TracefsTcpSource.open({
    root: options.root,
    bufferKb: options.bufferKb,
    scope,
    tracepoints: tracepoints.map(({ name, filter }) => {
      const spec = TCP_TRACEPOINTS.find((t) => t.event === name);
      if (spec === undefined) throw new Error(`unknown tracepoint ${name}`);
      return { spec, filter };
    }),
  });
}

export function createTraceIo(options: TraceIoOptions): TraceIo {
  const { netns } = options;
  const inNetns = netns === undefined ? {} : { netns };
  return {
    openSource: (tracepoints, detail, signal) =>
      openTcpEventSource({ ...options, tracepoints, detail, ...(signal === undefined ? {} : { signal }) }),
    processes: new ProcProcessLookup({
      listListeners: () => readSockets({ filter: { states: ['LISTEN'] }, withInfo: false, withOwners: true }, inNetns).data,
      savedTasks: () => readSavedTasks(options.root),
      listConnections: () => readSockets({ filter: { states: CONNECTED }, withInfo: false, withOwners: true }, inNetns).data,
    }),
    socketTable: () => readSockets({ withInfo: false, withOwners: false }, inNetns).data,
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
