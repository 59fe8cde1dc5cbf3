/**
 * Facts from a live window: two snapshots of the host (socket table, counters, sysctls, process
 * and host resources) and the connection events between them. Pure: the session reads, this
 * reduces. Counters become deltas over the window; gauges keep their end value.
 */
import { counterDelta } from '../analysis/counter-rates.js';
import type { Counters } from '../model/counters.js';
import type { HostSample, ProcessSample } from '../model/resources.js';
import type { TcpSocket } from '../model/socket.js';
import type { ConnectionEvents, DiagnoseScope, Facts, HostFact, MissingFact, ProcessFact } from '../model/facts.js';
import { round } from './view.js';

export interface WindowEnd {
  readonly atMs: number;
  /** Monotonic milliseconds (performance.now()), immune to wall-clock steps. */
  readonly monotonicMs: number;
  readonly sockets: readonly TcpSocket[] | null;
  readonly counters: Counters | null;
  readonly processes: readonly ProcessSample[] | null;
  readonly host: HostSample | null;
}

export interface LiveFactsInput {
  readonly scope: DiagnoseScope;
  readonly start: WindowEnd;
  readonly end: WindowEnd;
  readonly sysctl: Readonly<Record<string, string | null>> | null;
  readonly events: ConnectionEvents | null;
  readonly missing: readonly MissingFact[];
}

/** Gauges kept at their end value rather than differenced. */
function gauges(counters: Counters): Counters {
  const out: Counters = {};
  for (const [name, value] of Object.entries(counters)) if (name.startsWith('Sockstat') || name === 'CurrEstab') out[name] = value;
  return out;
}

export function buildLiveFacts(input: LiveFactsInput): Facts {
  const { start, end } = input;
  const intervalMs = Math.max(1, Math.round(end.monotonicMs - start.monotonicMs));
  const counters = start.counters !== null && end.counters !== null
    ? { intervalMs, deltas: counterDelta(start.counters, end.counters, intervalMs).deltas, gauges: gauges(end.counters) }
    : null;
  return {
    origin: 'live',
    window: { startMs: start.atMs, endMs: start.atMs + intervalMs },
    scope: input.scope,
    sockets: start.sockets !== null && end.sockets !== null ? { start: start.sockets, end: end.sockets } : null,
    counters,
    sysctl: input.sysctl,
    events: input.events,
    processes: end.processes === null ? null : processFacts(start.processes ?? [], end.processes, intervalMs),
    host: end.host === null ? null : hostFact(start.host, end.host),
    capture: null,
    missing: input.missing,
  };
}

function processFacts(before: readonly ProcessSample[], after: readonly ProcessSample[], intervalMs: number): ProcessFact[] {
  const earlier = new Map(before.map((p) => [p.pid, p]));
  return after.map((p) => {
    const prev = earlier.get(p.pid);
    // The same pid with a different name is a new process: no CPU figure for it.
    const cpuMs = prev !== undefined && prev.process === p.process && prev.cpuMs !== null && p.cpuMs !== null ? p.cpuMs - prev.cpuMs : null;
    return {
      pid: p.pid,
      process: p.process,
      openFds: p.openFds,
      fdLimitSoft: p.fdLimitSoft,
      fdLimitHard: p.fdLimitHard,
      cpuPercent: cpuMs === null ? null : round((100 * Math.max(0, cpuMs)) / intervalMs, 1),
      rssBytes: p.rssBytes,
      threads: p.threads,
    };
  });
}

function hostFact(before: HostSample | null, after: HostSample): HostFact {
  const busy = before?.cpuBusyTicks != null && after.cpuBusyTicks !== null ? after.cpuBusyTicks - before.cpuBusyTicks : null;
  const total = before?.cpuTotalTicks != null && after.cpuTotalTicks !== null ? after.cpuTotalTicks - before.cpuTotalTicks : null;
  return {
    cpus: after.cpus,
    cpuPercent: busy === null || total === null || total <= 0 ? null : round((100 * busy) / total, 1),
    loadAverage1m: after.loadAverage1m,
    memTotalBytes: after.memTotalBytes,
    memAvailableBytes: after.memAvailableBytes,
    fileHandlesAllocated: after.fileHandlesAllocated,
    fileHandlesMax: after.fileHandlesMax,
  };
}
