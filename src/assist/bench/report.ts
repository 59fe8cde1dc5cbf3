/**
 * The bench result: engine results merged into the `--json` contract
 * ({ requests, errors, connectMs, latencyMs, requestsPerSecond, bytesPerSecond, statusCodes,
 * retransmits } plus more), and the text rendering. Pure: no I/O.
 */
import { renderTable, humanNumber } from '../../sinks/table.js';
import type { ErrorClass } from './error-class.js';
import type { EngineResult, RunCounters } from './engine.js';
import { encodeHistogram as encodeOf, mergeEncoded, newHistogram, percentilesMs } from './histogram.js';
import type { PercentilesMs } from './histogram.js';
import { renderBaselineText } from './baseline.js';
import type { BaselineComparison } from './baseline.js';
import type { TransportKind } from './transport.js';

/** CPU a run cost: this process (all threads) and the server's process when --server-pid was given. */
export interface CpuFigures {
  readonly wallMs: number;
  readonly clientMs: number;
  /** Percent of one core over the run's wall time. */
  readonly clientPercent: number;
  readonly serverMs: number | null;
  readonly serverPercent: number | null;
  /** Server CPU per answered or failed request, microseconds: what a fix should not raise. */
  readonly serverUsPerRequest: number | null;
}

export function cpuFigures(wallMs: number, clientMs: number, serverMs: number | null, requests: number): CpuFigures {
  const pct = (ms: number): number => (wallMs > 0 ? Math.round((ms / wallMs) * 1000) / 10 : 0);
  return {
    wallMs: Math.round(wallMs),
    clientMs: Math.round(clientMs),
    clientPercent: pct(clientMs),
    serverMs: serverMs === null ? null : Math.round(serverMs),
    serverPercent: serverMs === null ? null : pct(serverMs),
    serverUsPerRequest: serverMs === null || requests === 0 ? null : Math.round((serverMs * 1000 * 10) / requests) / 10,
  };
}

export interface RunResult extends RunCounters {
  /** Request (or HTTP body) payload size of this run, bytes. */
  readonly payloadBytes: number;
  /** TCP_MAXSEG set before the SYN, or null for the kernel default. */
  readonly mss: number | null;
  readonly connectMs: PercentilesMs;
  readonly latencyMs: PercentilesMs;
  readonly requestsPerSecond: number;
  /** Bytes received per second (as wrk's Transfer/sec). */
  readonly bytesPerSecond: number;
  readonly sentBytesPerSecond: number;
  /** net.Socket or libuv handles (the fallback may differ from what was asked). */
  readonly transport: TransportKind;
  /** null when not measured. */
  readonly cpu: CpuFigures | null;
  /** Base64 HDR histograms (microseconds) so runs and files can be merged later. */
  readonly histograms: { readonly connectUs: string; readonly latencyUs: string };
}

export interface BenchSettings {
  readonly target: string;
  readonly protocol: 'http' | 'tcp';
  readonly connections: number;
  readonly threads: number;
  readonly newConnection: boolean;
  readonly rate: number | null;
  readonly durationMs: number | null;
  readonly requestLimit: number | null;
  readonly timeoutMs: number;
  readonly transport: TransportKind;
}

export interface BenchReport extends Omit<RunResult, 'payloadBytes' | 'mss' | 'transport' | 'cpu'> {
  readonly cpu: CpuFigures | null;
  /**
   * Requests that failed, plus (HTTP) answers that were not 2xx, as a percent of all requests;
   * 100 when none completed. What --max-error-rate is checked against.
   */
  readonly errorRatePercent: number;
  readonly settings: BenchSettings;
  readonly runs: readonly RunResult[];
  /** --mss-sweep: throughput per MSS relative to the best one. */
  readonly mssSweep: readonly MssSweepRow[] | null;
  readonly baseline: BaselineComparison | null;
}

export interface MssSweepRow {
  readonly mss: number;
  readonly payloadBytes: number;
  readonly requestsPerSecond: number;
  readonly bytesPerSecond: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly retransmits: number;
  readonly errors: number;
  /** This row's bytes/s over the best row's (same payload size). */
  readonly relativeThroughput: number;
}

function addCounts<K extends string>(into: Partial<Record<K, number>>, from: Partial<Record<K, number>>): void {
  for (const [key, value] of Object.entries(from) as Array<[K, number | undefined]>) {
    if (value !== undefined) into[key] = (into[key] ?? 0) + value;
  }
}

interface Mergeable extends RunCounters {
  readonly connectUs: string;
  readonly latencyUs: string;
}

/**
 * Merge parts into one result. `parallel`: the parts ran at the same time (worker threads),
 * so the elapsed time is the longest one; otherwise they ran one after another (runs) and add.
 */
function merge(parts: readonly Mergeable[], parallel: boolean): Omit<RunResult, 'payloadBytes' | 'mss' | 'transport' | 'cpu'> {
  const connectHist = newHistogram();
  const latencyHist = newHistogram();
  const errors: Partial<Record<ErrorClass, number>> = {};
  const errorSamples: Partial<Record<ErrorClass, string>> = {};
  const statusCodes: Record<string, number> = {};
  let requests = 0, successes = 0, connects = 0, bytesSent = 0, bytesReceived = 0;
  let retransmits = 0, socketsSampled = 0, unsent = 0, elapsedMs = 0;
  for (const part of parts) {
    requests += part.requests;
    successes += part.successes;
    connects += part.connects;
    bytesSent += part.bytesSent;
    bytesReceived += part.bytesReceived;
    retransmits += part.retransmits;
    socketsSampled += part.socketsSampled;
    unsent += part.unsent;
    elapsedMs = parallel ? Math.max(elapsedMs, part.elapsedMs) : elapsedMs + part.elapsedMs;
    addCounts(errors, part.errors);
    addCounts(statusCodes, part.statusCodes);
    for (const [key, message] of Object.entries(part.errorSamples) as Array<[ErrorClass, string]>) errorSamples[key] ??= message;
    mergeEncoded(connectHist, part.connectUs);
    mergeEncoded(latencyHist, part.latencyUs);
  }
  const seconds = elapsedMs / 1000;
  const perSecond = (n: number): number => (seconds > 0 ? Math.round((n / seconds) * 100) / 100 : 0);
  return {
    requests,
    successes,
    errors,
    errorSamples,
    statusCodes,
    connectMs: percentilesMs(connectHist),
    latencyMs: percentilesMs(latencyHist),
    requestsPerSecond: perSecond(requests),
    bytesPerSecond: perSecond(bytesReceived),
    sentBytesPerSecond: perSecond(bytesSent),
    bytesSent,
    bytesReceived,
    connects,
    retransmits,
    socketsSampled,
    unsent,
    elapsedMs: Math.round(elapsedMs * 1000) / 1000,
    histograms: { connectUs: connectHist.totalCount > 0 ? encodeOf(connectHist) : '', latencyUs: latencyHist.totalCount > 0 ? encodeOf(latencyHist) : '' },
  };
}

/** One run (one payload size at one MSS) from the engines that ran it in parallel. */
export function mergeEngineResults(results: readonly EngineResult[], payloadBytes: number, mss: number | null, cpu: CpuFigures | null = null): RunResult {
  const parts = results.map((r) => ({ ...r, connectUs: r.connectHistogram, latencyUs: r.latencyHistogram }));
  return { payloadBytes, mss, transport: results[0]?.transport ?? 'net', cpu, ...merge(parts, true) };
}

export function buildReport(settings: BenchSettings, runs: readonly RunResult[], baseline: BaselineComparison | null = null): BenchReport {
  const parts = runs.map((r) => ({ ...r, connectUs: r.histograms.connectUs, latencyUs: r.histograms.latencyUs })).map((p) => ({
    ...p,
    // Empty histograms are stored as '' (nothing to decode).
    connectUs: p.connectUs === '' ? encodeOf(newHistogram()) : p.connectUs,
    latencyUs: p.latencyUs === '' ? encodeOf(newHistogram()) : p.latencyUs,
  }));
  const total = merge(parts, false);
  const sweep = runs.some((r) => r.mss !== null) && new Set(runs.map((r) => r.mss)).size > 1 ? mssSweepRows(runs) : null;
  return { settings, ...total, cpu: totalCpu(runs, total.requests), errorRatePercent: errorRatePercent(settings.protocol, total), runs, mssSweep: sweep, baseline };
}

/** As wrk's "Non-2xx or 3xx responses" plus socket errors: only a 2xx (HTTP) or a complete reply (TCP) counts as good. */
export function errorRatePercent(protocol: 'http' | 'tcp', run: Pick<RunCounters, 'requests' | 'successes' | 'statusCodes'>): number {
  if (run.requests === 0) return 100;
  const good = protocol === 'tcp'
    ? run.successes
    : Object.entries(run.statusCodes).reduce((n, [code, count]) => (code.startsWith('2') && code.length === 3 ? n + count : n), 0);
  return Math.round(((run.requests - good) / run.requests) * 100_000) / 1000;
}

function totalCpu(runs: readonly RunResult[], requests: number): CpuFigures | null {
  if (runs.length === 0 || runs.some((r) => r.cpu === null)) return null;
  let wallMs = 0, clientMs = 0, serverMs: number | null = 0;
  for (const run of runs) {
    const cpu = run.cpu!;
    wallMs += cpu.wallMs;
    clientMs += cpu.clientMs;
    serverMs = serverMs === null || cpu.serverMs === null ? null : serverMs + cpu.serverMs;
  }
  return cpuFigures(wallMs, clientMs, serverMs, requests);
}

function mssSweepRows(runs: readonly RunResult[]): MssSweepRow[] {
  const bestBySize = new Map<number, number>();
  for (const run of runs) bestBySize.set(run.payloadBytes, Math.max(bestBySize.get(run.payloadBytes) ?? 0, run.bytesPerSecond));
  return runs.map((run) => {
    const best = bestBySize.get(run.payloadBytes) ?? 0;
    return {
      mss: run.mss ?? 0,
      payloadBytes: run.payloadBytes,
      requestsPerSecond: run.requestsPerSecond,
      bytesPerSecond: run.bytesPerSecond,
      latencyP50Ms: run.latencyMs.p50,
      latencyP99Ms: run.latencyMs.p99,
      retransmits: run.retransmits,
      errors: run.requests - run.successes,
      relativeThroughput: best > 0 ? Math.round((run.bytesPerSecond / best) * 1000) / 1000 : 0,
    };
  });
}

// ---- text ------------------------------------------------------------------------------------

const ms = (n: number): string => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

function percentileTable(rows: ReadonlyArray<{ name: string; p: PercentilesMs }>): string {
  return renderTable(rows, [
    { header: 'ms', value: (r) => r.name },
    { header: 'p50', value: (r) => ms(r.p.p50), align: 'right' },
    { header: 'p90', value: (r) => ms(r.p.p90), align: 'right' },
    { header: 'p99', value: (r) => ms(r.p.p99), align: 'right' },
    { header: 'p99.9', value: (r) => ms(r.p.p999), align: 'right' },
    { header: 'max', value: (r) => ms(r.p.max), align: 'right' },
    { header: 'count', value: (r) => r.p.count, align: 'right' },
  ]);
}

export function renderRunText(run: Omit<RunResult, 'payloadBytes' | 'mss' | 'transport' | 'cpu'> & { readonly cpu: CpuFigures | null }): string {
  const lines: string[] = [];
  lines.push(percentileTable([
    { name: 'connect', p: run.connectMs },
    { name: 'response', p: run.latencyMs },
  ]));
  const failed = run.requests - run.successes;
  lines.push(
    `requests ${run.requests} in ${(run.elapsedMs / 1000).toFixed(2)} s: ${run.successes} ok, ${failed} failed` +
      (run.unsent > 0 ? `, ${run.unsent} due but never sent (run ended)` : ''),
  );
  lines.push(
    `throughput ${humanNumber(run.requestsPerSecond)} requests/s, ${humanNumber(run.bytesPerSecond, true)}B/s received, ` +
      `${humanNumber(run.sentBytesPerSecond, true)}B/s sent; ${run.connects} connections opened`,
  );
  const codes = Object.entries(run.statusCodes).sort(([a], [b]) => a.localeCompare(b));
  if (codes.length > 0) lines.push(`status codes ${codes.map(([code, n]) => `${code}: ${n}`).join(', ')}`);
  const errors = Object.entries(run.errors) as Array<[ErrorClass, number]>;
  for (const [kind, n] of errors) lines.push(`errors ${kind}: ${n} (e.g. ${run.errorSamples[kind] ?? '?'})`);
  lines.push(`tcp retransmissions ${run.retransmits} (tcp_info of ${run.socketsSampled} sockets at close)`);
  if (run.cpu !== null) {
    const server = run.cpu.serverPercent === null ? '' : `, server ${run.cpu.serverPercent}% (${run.cpu.serverUsPerRequest ?? '-'} µs per request)`;
    lines.push(`cpu (percent of one core) tcpdiag ${run.cpu.clientPercent}%${server}`);
  }
  return lines.join('\n') + '\n';
}

export function renderReportText(report: BenchReport): string {
  const parts: string[] = [];
  const s = report.settings;
  parts.push(
    `bench ${s.target} (${s.protocol}): ${s.connections} connections` +
      `${s.threads > 1 ? ` on ${s.threads} threads` : ''}, ${s.newConnection ? 'new connection per request' : 'kept alive'}` +
      `${s.rate === null ? ', closed loop' : `, open loop at ${s.rate} requests/s (latency from intended send time)`}\n`,
  );
  if (report.runs.length > 1) {
    for (const run of report.runs) {
      parts.push(`\n-- payload ${run.payloadBytes} bytes${run.mss === null ? '' : `, MSS ${run.mss}`}\n`);
      parts.push(renderRunText(run));
    }
    parts.push('\n-- all runs\n');
  }
  parts.push(renderRunText(report));
  if (s.rate !== null && report.requestsPerSecond < s.rate * 0.9) {
    parts.push(`rate: asked for ${s.rate} requests/s, made ${humanNumber(report.requestsPerSecond)}/s: the connections could not keep up (add -c), and latency counts from the intended send times\n`);
  }
  parts.push(`error rate ${report.errorRatePercent}% (failed requests${s.protocol === 'http' ? ' and responses other than 2xx' : ''})\n`);
  if (report.mssSweep !== null) {
    parts.push('\nMSS sweep\n');
    parts.push(renderTable(report.mssSweep, [
      { header: 'mss', value: (r) => r.mss, align: 'right' },
      { header: 'payload', value: (r) => r.payloadBytes, align: 'right' },
      { header: 'req/s', value: (r) => humanNumber(r.requestsPerSecond), align: 'right' },
      { header: 'bytes/s', value: (r) => `${humanNumber(r.bytesPerSecond, true)}B`, align: 'right' },
      { header: 'p50 ms', value: (r) => ms(r.latencyP50Ms), align: 'right' },
      { header: 'p99 ms', value: (r) => ms(r.latencyP99Ms), align: 'right' },
      { header: 'retrans', value: (r) => r.retransmits, align: 'right' },
      { header: 'errors', value: (r) => r.errors, align: 'right' },
      { header: 'vs best', value: (r) => `${(r.relativeThroughput * 100).toFixed(0)}%`, align: 'right' },
    ]));
  }
  if (report.baseline !== null) parts.push(`\n${renderBaselineText(report.baseline)}`);
  return parts.join('');
}
