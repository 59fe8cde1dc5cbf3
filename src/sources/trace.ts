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
  // the socket's namespace in the kernel.
  if (detail || netns !== undefined) {
    const { BpftraceSource } = await import('./ebpf/bpftrace.js');
    const { setResetReasonNames } = await import('./ebpf/parse.js');
    setResetReasonNames(resetReasonNames(options.root));
    return BpftraceSource.open({ probes: tracepoints, scope, detail, ...(netns ? { netnsInode: netns.inode } : {}), ...(signal === undefined ? {} : { signal }) });
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
    }),
    socketTable: () => readSockets({ withInfo: false, withOwners: false }, inNetns).data,
    counters: () => readTcpCounters(netns === undefined ? '/proc' : (relative) => readNetnsProcFile(netns, relative)),
  };
}

function resetReasonNames(root: string): Map<number, string> {
  try {
    return symbolicNames(parseEventFormat(readFileSync(join(root, 'events/tcp/tcp_send_reset/format'), 'utf8')), 'reason');
  } catch {
    return new Map();
  }
}
