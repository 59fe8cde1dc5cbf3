/**
 * The real I/O behind `tcpdiag trace`: tracefs (or bpftrace for --detail) as the event
 * source, /proc for process attribution, the socket table and the kernel's counters.
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

export { ensureTracefs } from './tracefs/mount.js';
export { removeInstanceDirectory } from './tracefs/instance.js';

export interface TraceIoOptions {
  readonly root: string;
  readonly bufferKb: number;
  /** Owns the event sources opened (tracefs instances, bpftrace children). */
  readonly scope: Scope;
}

export function createTraceIo(options: TraceIoOptions): TraceIo {
  return {
    openSource: async (tracepoints, detail) => {
      if (detail) {
        const { BpftraceSource } = await import('./ebpf/bpftrace.js');
        const { setResetReasonNames } = await import('./ebpf/parse.js');
        setResetReasonNames(resetReasonNames(options.root));
        return BpftraceSource.open({ probes: tracepoints, scope: options.scope });
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
      listListeners: () => readSocketTable({ filter: { states: ['LISTEN'] }, withInfo: false, withProcesses: true }).sockets,
      savedTasks: () => readSavedTasks(options.root),
    }),
    socketTable: () => readSocketTable({ withInfo: false, withProcesses: false }).sockets,
    counters: () => readTcpCounters(),
  };
}

function resetReasonNames(root: string): Map<number, string> {
  try {
    return symbolicNames(parseEventFormat(readFileSync(join(root, 'events/tcp/tcp_send_reset/format'), 'utf8')), 'reason');
  } catch {
    return new Map();
  }
}
