/**
 * `tcpdiag trace`: wires an event source (tracefs, or bpftrace for --detail) to the tracker,
 * the filters and the output, in a poll loop that never overlaps itself, stops on --duration,
 * --count or a signal, and always removes what it set up in the kernel. Output goes through
 * the `write` callback (the CLI owns stdout).
 */
import type { EventSourceSummary, TraceIo } from '../sources/source.js';
import { abortableSleep } from '../platform/abortable-sleep.js';
import type { RawTcpEvent } from '../model/kernel-event.js';
import type { TraceEvent, TraceEventType, TraceMode } from '../analysis/trace/events.js';
import { MODE_EVENTS } from '../analysis/trace/events.js';
import type { ConnFilter } from '../model/conn-filter.js';
import { MODE_TRACEPOINTS, compileEventFilter, compileTableFilter, hasUserFilter, kernelFilter, samplePort, userSpaceFilter } from '../analysis/trace/filters.js';
import { formatEventLine, traceHeader } from '../sinks/trace/event-line.js';
import { JsonLineWriter } from '../sinks/trace/json-writer.js';
import { TraceTracker } from '../analysis/trace/tracker.js';
import { DropCounter, RetransAggregator, buildStateStats } from '../analysis/trace/stats.js';
import type { RetransReport, StateStatsReport } from '../analysis/trace/stats.js';
import { formatDropSummary, formatRetransReport, formatStateStats } from '../sinks/trace/report-text.js';

export interface TraceRunOptions {
  readonly mode: TraceMode;
  readonly filter: ConnFilter;
  readonly durationMs: number | null;
  readonly count: number | null;
  readonly json: boolean;
  readonly detail: boolean;
  /** states --stats */
  readonly stats: boolean;
  /** retrans report / stats refresh period */
  readonly intervalMs: number | null;
  readonly ignore: number;
  readonly bufferKb: number;
  readonly pollIntervalMs: number;
  readonly signal: AbortSignal;
  /** The time column: local clock time, or seconds since the trace started (bcc -t). */
  readonly timestamps?: 'clock' | 'elapsed';
  /** stdout: text or bytes (JSON lines are written as bytes); `done`, when given, is called once the chunk may be reused. */
  readonly write: (chunk: string | Buffer, done?: () => void) => void;
  readonly note: (text: string) => void;
}

export interface TraceRunSummary {
  readonly printed: number;
  readonly rawEvents: number;
  readonly lost: number;
  readonly source: EventSourceSummary;
}

export async function runTrace(options: TraceRunOptions, io: TraceIo): Promise<TraceRunSummary> {
  const { mode, filter } = options;
  const tracepoints = MODE_TRACEPOINTS[mode].map((name) => ({ name, filter: kernelFilter(name, mode, filter) }));
  const source = await io.openSource(tracepoints, options.detail);
  // Listeners that exist now: their owners are looked up once, so a socket that is closed by
  // the time its events are read (up to a poll interval later) is still attributed.
  if (mode === 'accept' || mode === 'all' || mode === 'states' || mode === 'life' || mode === 'retrans') io.processes.prime?.();
  // Retransmissions and resets run in timers and softirq, and these modes see no transitions
  // to learn owners from: the socket table's owners of the connections open now.
  if (mode === 'retrans' || mode === 'resets') io.processes.primeConnections?.();
  const startNs = Number(process.hrtime.bigint());
  const wallOffsetMs = Date.now() - startNs / 1e6;
  const reportMode = (mode === 'states' && options.stats) || (mode === 'retrans' && options.intervalMs !== null);
  const trackerOptions = {
    emit: reportMode && mode === 'states' ? new Set<TraceEventType>(['lost']) : MODE_EVENTS[mode],
    processes: io.processes,
    wallOffsetMs,
    forgetWhenOpen: mode === 'connect' || mode === 'accept',
    keepHandovers: mode === 'states' && options.stats,
  };
  const tracker = new TraceTracker(trackerOptions);
  const retrans = mode === 'retrans' && options.intervalMs !== null ? new RetransAggregator() : null;
  let countersBefore = retrans === null ? {} : io.counters();
  let lastReportNs = startNs;

  const filterNote = tracepoints.map((t) => `${t.name}${t.filter === null ? '' : ` [${t.filter}]`}`).join(', ');
  const leftToUserSpace = userSpaceFilter(mode, filter);
  const sinceMs = options.timestamps === 'elapsed' ? Date.now() : null;
  const stages = { matches: hasUserFilter(leftToUserSpace) ? compileEventFilter(leftToUserSpace) : null, reportMode, json: options.json, sinceMs };
  const drops = mode === 'drops' ? new DropCounter() : null;
  const output = { tracker, retrans, drops, count: options.count, write: options.write, note: options.note, warmingUp: false };
  const pipeline = createPipeline(stages, output);
  // Not for connect: its kernel filter drops a listener's children, so it never looks up a
  // listener's owner and has not primed them; the warm-up's would make it scan /proc for nothing.
  if (source.warmUp !== undefined && mode !== 'connect') {
    // V8 compiles the hot path while it runs: a burst that meets it cold costs ~30% more CPU
    // and starts slower (bench/README.md). So made-up events go through this very pipeline
    // first (the same closures, so V8's feedback and compiled code carry over) into a tracker
    // and an output of their own that nothing reads. Their process-context events are ours
    // (our own pid, which the real lookup answers truly) and their listeners have no task, so
    // nothing false is learnt about real processes or listeners.
    const scratchTracker = new TraceTracker({ ...trackerOptions, lookupConnections: false });
    pipeline.begin({ tracker: scratchTracker, retrans: retrans && new RetransAggregator(), drops: null, count: null, write: discard, note: discard, warmingUp: true });
    source.warmUp(pipeline.onRaw, samplePort(filter), process.pid);
    pipeline.flush();
    pipeline.begin(output);
  }
  options.note(`tracing ${mode} (${filterNote}); Ctrl-C to stop`);
  if (!options.json && !reportMode) options.write(`${traceHeader(sinceMs !== null)}\n`);

  const emitReport = (report: StateStatsReport | RetransReport) => {
    options.write(options.json ? `${JSON.stringify(report)}\n` : report.type === 'stats' ? formatStateStats(report) : formatRetransReport(report));
  };
  const handle = (poll: (visit: (raw: RawTcpEvent) => void) => number) => {
    poll(pipeline.onRaw);
    pipeline.flush();
  };

  // --pid and --process are left out here: the table's owners are not read (that scan costs more than the report).
  const inTable = compileTableFilter(filter);
  const report = (nowNs: number) => {
    if (mode === 'states' && options.stats) {
      const table = io.socketTable().filter(inTable);
      emitReport(buildStateStats(table, tracker.sockets, tracker.transitions, nowNs, startNs, Date.now(), tracker.handovers));
    } else if (retrans !== null) {
      const after = io.counters();
      emitReport(retrans.report(countersBefore, after, (nowNs - lastReportNs) / 1e6, options.ignore, Date.now()));
      countersBefore = after;
    }
    lastReportNs = nowNs;
  };

  const deadlineNs = options.durationMs === null ? Infinity : startNs + options.durationMs * 1e6;
  let summary: EventSourceSummary;
  try {
    while (!pipeline.counts.stopped && !options.signal.aborted) {
      handle((v) => source.poll(v));
      const nowNs = Number(process.hrtime.bigint());
      if (nowNs >= deadlineNs) break;
      if (options.intervalMs !== null && reportMode && nowNs - lastReportNs >= options.intervalMs * 1e6) report(nowNs);
      const waitMs = Math.max(1, Math.min(options.pollIntervalMs, (deadlineNs - nowNs) / 1e6));
      await abortableSleep(waitMs, options.signal);
    }
    if (!pipeline.counts.stopped) {
      handle((v) => source.poll(v));
      handle((v) => source.drain(v));
    }
    if (reportMode && (options.intervalMs === null || Number(process.hrtime.bigint()) - lastReportNs > 0.2e9 || lastReportNs === startNs)) {
      report(Number(process.hrtime.bigint()));
    }
  } finally {
    summary = await source.close();
  }
  const { printed, raw, lost } = pipeline.counts;
  if (drops !== null) {
    const dropSummary = drops.summary(Math.max(lost, summary.kernelLost), Date.now());
    options.write(options.json ? `${JSON.stringify(dropSummary)}\n` : formatDropSummary(dropSummary));
  }
  const kernelSays = summary.kernelLost > lost ? `; the kernel's buffer counters say ${summary.kernelLost} lost` : '';
  options.note(`${printed} events printed from ${raw} kernel events, ${lost} lost${kernelSays}`);
  return { printed, rawEvents: raw, lost: Math.max(lost, summary.kernelLost), source: summary };
}

/** What the pipeline does, fixed for the run. */
interface PipelineStages {
  /** What user space still checks after the kernel's filter; null when nothing. */
  readonly matches: ((event: TraceEvent) => boolean) | null;
  /** Only lost events are printed as they come (reports are written apart). */
  readonly reportMode: boolean;
  readonly json: boolean;
  /** Text lines: print seconds since this moment instead of the clock time (bcc -t). */
  readonly sinceMs: number | null;
}

/** Where its events go: the run's tracker and stdout, or the warm-up's, which nothing reads. */
interface PipelineOutput {
  readonly tracker: TraceTracker;
  /** retrans --interval: retransmissions are counted here instead of printed. */
  readonly retrans: RetransAggregator | null;
  /** drops: the printed drops by reason, for the summary. */
  readonly drops: DropCounter | null;
  readonly count: number | null;
  readonly write: TraceRunOptions['write'];
  readonly note: TraceRunOptions['note'];
  /** Every event goes through the filters and on to the output, whatever they say. */
  readonly warmingUp: boolean;
}

interface EventPipeline {
  /** The source's visitor: track, filter and print one raw event. */
  readonly onRaw: (raw: RawTcpEvent) => void;
  /** Write what is buffered (after each poll). */
  readonly flush: () => void;
  /** Send what follows to `output`, counting from zero. */
  readonly begin: (output: PipelineOutput) => void;
  readonly counts: { printed: number; raw: number; lost: number; stopped: boolean };
}

/**
 * Raw event -> tracker -> user-space filters -> output, streaming: each raw event is tracked,
 * filtered and serialized as the source hands it over and output is written in chunks, so a
 * poll of 10^5 events never holds 10^5 objects.
 */
function createPipeline(s: PipelineStages, first: PipelineOutput): EventPipeline {
  let o = first;
  const counts = { printed: 0, raw: 0, lost: 0, stopped: false };
  const jsonWriter = s.json ? new JsonLineWriter((chunk, done) => o.write(chunk, done)) : null;
  let parts: string[] = [];
  const flush = () => {
    jsonWriter?.flush();
    if (parts.length > 0) o.write(parts.join(''));
    parts = [];
  };
  const onEvent = (event: TraceEvent) => {
    if (event.type === 'lost') {
      counts.lost += event.count ?? 0;
      if (s.json) o.note(`warning: the kernel lost ${event.count ?? 'some'} events on cpu${event.cpu}`);
    }
    if (counts.stopped) return;
    if (s.matches !== null && !s.matches(event) && !o.warmingUp) return;
    if (o.retrans !== null && event.type === 'retransmit') {
      o.retrans.add(event);
      return;
    }
    if (s.reportMode && event.type !== 'lost') return;
    if (o.drops !== null && event.type === 'drop') o.drops.add(event);
    if (jsonWriter !== null) jsonWriter.write(event);
    else {
      parts.push(formatEventLine(event, s.sinceMs));
      if (parts.length >= 2048) flush();
    }
    counts.printed++;
    if (o.count !== null && counts.printed >= o.count) counts.stopped = true;
  };
  const onRaw = (raw: RawTcpEvent) => {
    counts.raw++;
    o.tracker.process(raw, onEvent);
  };
  const begin = (output: PipelineOutput) => {
    flush();
    o = output;
    counts.printed = counts.raw = counts.lost = 0;
    counts.stopped = false;
  };
  return { onRaw, flush, begin, counts };
}

function discard(_chunk: string | Buffer, done?: () => void): void {
  done?.();
}
