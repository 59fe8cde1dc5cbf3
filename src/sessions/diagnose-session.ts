/**
 * `tcpdiag diagnose`: one observation window. Kernel events are switched on first (when root
 * allows), then the host is read at the start (socket table with tcp_info, counters, sysctls,
 * CPU of every process, the log files' sizes), the events are drained every poll interval until
 * the window ends (or the signal stops it early), the host is read again at the end (the socket
 * table now with owners, walked in the collection worker while the table is dumped; resources of
 * the processes that own sockets), and the rules judge the facts. The tracefs instance is always removed. Sources are injected; nothing here knows a
 * backend.
 */
import type { DiagnoseSources } from '../sources/diagnose.js';
import type { Issue } from '../model/issue.js';
import { issue } from '../model/issue.js';
import type { TcpEventSource } from '../sources/source.js';
import { abortableSleep } from '../platform/abortable-sleep.js';
import { MODE_EVENTS } from '../analysis/trace/events.js';
import { MODE_TRACEPOINTS, compileEventFilter, hasUserFilter, kernelFilter, userSpaceFilter } from '../analysis/trace/filters.js';
import type { TraceEvent } from '../analysis/trace/events.js';
import { TraceTracker } from '../analysis/trace/tracker.js';
import { ConnectionEventAggregator } from '../diagnose/event-facts.js';
import type { DiagnoseScope, MissingFact } from '../model/facts.js';
import { buildLiveFacts } from '../diagnose/live-facts.js';
import type { WindowEnd } from '../diagnose/live-facts.js';
import { runRules } from '../diagnose/engine.js';
import { buildReport } from '../diagnose/report.js';
import type { DiagnosisReport, LogLine, LogSourceStatus } from '../model/diagnosis.js';
import type { Thresholds } from '../diagnose/rule.js';
import { RULES } from '../diagnose/rules/index.js';

export interface DiagnoseOptions {
  readonly durationMs: number;
  readonly scope: DiagnoseScope;
  readonly logFiles: readonly string[];
  readonly journalUnits: readonly string[];
  readonly thresholds: Thresholds;
  /** Read at most this much of each log source. */
  readonly logCapBytes: number;
  readonly pollIntervalMs: number;
  /** Trace kernel events when root allows (tests of the unprivileged path turn it off). */
  readonly events: boolean;
  readonly signal: AbortSignal;
  /** Progress for stderr ("watching for 10 s"). */
  readonly note: (text: string) => void;
}

interface EventStream {
  readonly source: TcpEventSource;
  readonly tracker: TraceTracker;
  readonly aggregator: ConnectionEventAggregator;
  /** What the kernel-side filter left to user space; null: nothing. */
  readonly matches: ((event: TraceEvent) => boolean) | null;
}

export async function runDiagnosis(options: DiagnoseOptions, sources: DiagnoseSources): Promise<DiagnosisReport> {
  const issues: Issue[] = [];
  const missing: MissingFact[] = [];
  // A log file that cannot be read fails the command before anything is set up in the kernel.
  const tails = options.logFiles.map((path) => sources.logFile(path));
  const stream = options.events ? await openEvents(options, sources, issues, missing) : null;
  if (!options.events) missing.push({ kind: 'events', reason: 'kernel events were not traced (--no-events)', hint: 'run without --no-events, as root' });
  try {
    const start = readWindowStart(sources, issues);
    sources.prepareEnd();
    const sysctl = sources.sysctls();
    options.note(`watching for ${Math.round(options.durationMs / 100) / 10} s${stream === null ? ' (no kernel events)' : ''}; Ctrl-C ends the window early`);
    const deadline = start.monotonicMs + options.durationMs;
    while (!options.signal.aborted) {
      if (stream !== null) pollEvents(stream, false);
      const left = deadline - performance.now();
      if (left <= 0) break;
      await abortableSleep(Math.min(options.pollIntervalMs, left), options.signal);
    }
    if (options.signal.aborted) options.note('stopped early: diagnosing the window so far');
    const ownersPids = new Set<number>(options.scope.pids ?? []);
    const end = await readWindowEnd(sources, issues);
    for (const s of end.sockets ?? []) for (const o of s.owners) ownersPids.add(o.pid);
    const processes = sources.processes([...ownersPids].sort((a, b) => a - b));
    issues.push(...processes.issues);
    const endWithProcesses: WindowEnd = { ...end, processes: processes.data };
    let events = null;
    if (stream !== null) {
      pollEvents(stream, true);
      const summary = await stream.source.close();
      events = stream.aggregator.result();
      const lost = Math.max(events.lost, summary.kernelLost);
      if (lost > 0) issues.push(issue('TCPDIAG_EVENTS_LOST', `the kernel lost ${lost} events: event counts are lower bounds`, 'raise [trace] buffer_kb in tcp_diag.conf'));
      events = { ...events, lost };
    }
    if (!start.tcpInfo) {
      missing.push({ kind: 'tcpInfo', reason: 'the socket table has no tcp_info (/proc/net/tcp)', hint: 'build the native addon: npm run install (needs python3, make and g++)' });
    }
    const facts = buildLiveFacts({
      scope: options.scope,
      start,
      end: endWithProcesses,
      sysctl: sysctl.data,
      events,
      missing,
    });
    const { logLines, logs } = await collectLogs(options, sources, tails, facts.window.startMs, facts.window.endMs);
    const result = runRules(facts, options.thresholds, RULES, { source: 'diagnose' });
    return buildReport({ facts, result, rules: RULES, logLines, logs, issues: dedupe(issues) });
  } finally {
    // Idempotent: after the close above this only waits for the same promise.
    await stream?.source.close();
  }
}

/** The start of the window, read on this thread (no owners: they are read at the end). */
function readWindowStart(sources: DiagnoseSources, issues: Issue[]): WindowEnd & { tcpInfo: boolean } {
  const atMs = Date.now();
  const monotonicMs = performance.now();
  return windowEnd(sources, atMs, monotonicMs, sources.sockets(false), () => sources.processCpu(), issues);
}

/**
 * The end of the window, with owners: the /proc walk runs in the collection worker while this
 * thread dumps the table. Not aborted by the command's signal: a stop ends the window early,
 * and what was observed until then is still read and judged.
 */
async function readWindowEnd(sources: DiagnoseSources, issues: Issue[]): Promise<WindowEnd & { tcpInfo: boolean }> {
  const atMs = Date.now();
  const monotonicMs = performance.now();
  const sockets = await sources.socketsWithOwners(new AbortController().signal);
  return windowEnd(sources, atMs, monotonicMs, sockets, null, issues);
}

function windowEnd(
  sources: DiagnoseSources,
  atMs: number,
  monotonicMs: number,
  sockets: ReturnType<DiagnoseSources['sockets']>,
  processCpu: (() => ReturnType<DiagnoseSources['processCpu']>) | null,
  issues: Issue[],
): WindowEnd & { tcpInfo: boolean } {
  const counters = sources.counters();
  const host = sources.host();
  const cpu = processCpu?.() ?? null;
  issues.push(...sockets.issues, ...counters.issues, ...host.issues);
  return {
    atMs,
    monotonicMs,
    sockets: sockets.data,
    counters: counters.data,
    processes: cpu?.data ?? null,
    host: host.data,
    tcpInfo: sockets.tcpInfo,
  };
}

async function openEvents(options: DiagnoseOptions, sources: DiagnoseSources, issues: Issue[], missing: MissingFact[]): Promise<EventStream | null> {
  const access = sources.events();
  if (!access.ok) {
    missing.push({ kind: 'events', reason: `kernel events need tracefs: ${access.issue.message}`, ...(access.issue.hint === undefined ? {} : { hint: access.issue.hint }) });
    issues.push(access.issue);
    return null;
  }
  if (access.note !== null) options.note(access.note);
  const tracepoints = MODE_TRACEPOINTS.all.map((name) => ({ name, filter: kernelFilter(name, 'all', options.scope) }));
  const leftToUserSpace = userSpaceFilter('all', options.scope);
  let source: TcpEventSource;
  try {
    source = await access.io.openSource(tracepoints, false);
  } catch (error: unknown) {
    const message = error instanceof Error ? error.message : String(error);
    missing.push({ kind: 'events', reason: `the kernel event stream could not be opened: ${message}` });
    issues.push(issue('TCPDIAG_SOURCE_FAILED', `tracing failed: ${message}`));
    return null;
  }
  access.io.processes.prime?.();
  const startNs = Number(process.hrtime.bigint());
  const tracker = new TraceTracker({ emit: MODE_EVENTS.all, processes: access.io.processes, wallOffsetMs: Date.now() - startNs / 1e6 });
  return { source, tracker, aggregator: new ConnectionEventAggregator(), matches: hasUserFilter(leftToUserSpace) ? compileEventFilter(leftToUserSpace) : null };
}

function pollEvents(stream: EventStream, last: boolean): void {
  const { matches } = stream;
  const visit = (raw: Parameters<TraceTracker['process']>[0]) =>
    stream.tracker.process(raw, (event) => {
      if (matches === null || matches(event)) stream.aggregator.add(event);
    });
  stream.source.poll(visit);
  if (last) stream.source.drain(visit);
}

async function collectLogs(
  options: DiagnoseOptions,
  sources: DiagnoseSources,
  tails: ReturnType<DiagnoseSources['logFile']>[],
  startMs: number,
  endMs: number,
): Promise<{ logLines: LogLine[]; logs: LogSourceStatus[] }> {
  const logLines: LogLine[] = [];
  const logs: LogSourceStatus[] = [];
  for (const tail of tails) {
    const result = tail.finish(options.logCapBytes);
    for (const text of result.lines) logLines.push({ origin: tail.path, text, atMs: null });
    logs.push({ origin: tail.path, status: 'read', lines: result.lines.length, ...(result.truncatedBytes > 0 ? { truncatedBytes: result.truncatedBytes } : {}) });
  }
  for (const unit of options.journalUnits) {
    const origin = `journal:${unit}`;
    const result = await sources.journal(unit, startMs, endMs, options.logCapBytes, options.signal);
    if (!result.ok) {
      logs.push({ origin, status: 'skipped', reason: result.reason, ...(result.hint === undefined ? {} : { hint: result.hint }) });
      continue;
    }
    for (const line of result.lines) logLines.push({ origin, text: line.text, atMs: line.atMs });
    logs.push({ origin, status: 'read', lines: result.lines.length, ...(result.truncatedBytes > 0 ? { truncatedBytes: result.truncatedBytes } : {}) });
  }
  return { logLines, logs };
}

function dedupe(issues: readonly Issue[]): Issue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.code}|${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
