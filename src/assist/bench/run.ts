/**
 * `tcpdiag bench TARGET`: resolve the target once, build the request bytes, then run the load
 * for each MSS (--mss-sweep) and each payload size (--payload-sizes), one after another, on one
 * event loop or split over worker threads (--threads), and merge everything into one report.
 */
import { isIP } from 'node:net';
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { UsageError, TcpdiagError } from '../../errors.js';
import { CTL_COMPLETED, CTL_FAILED, CTL_GO, CTL_READY, CTL_STOP, newControlBlock, runEngine } from './engine.js';
import type { EngineConfig, EngineResult } from './engine.js';
import { buildHttpRequest, fillerPayload, parseBenchTarget, resolveTargetAddress } from './target.js';
import type { BenchTarget } from './target.js';
import { buildReport, cpuFigures, mergeEngineResults } from './report.js';
import { processCpuMs, sampleCpu } from './cpu.js';
import type { BenchReport, BenchSettings, RunResult } from './report.js';
import { compareWithBaseline, readBaseline } from './baseline.js';
import type { BaselineThresholds } from './baseline.js';
import type { ReplyRule } from './raw-reply.js';
import type { TransportKind } from './transport.js';
import { MSS, inRange } from '../../model/limits.js';
import { rangeText } from '../../model/units.js';

export interface BenchOptions {
  readonly target: string;
  readonly connections: number;
  /** Per run; null with a request limit = until the requests are done. */
  readonly durationMs: number | null;
  readonly requests: number | null;
  /** Open loop, requests per second in total; null = closed loop. */
  readonly rate: number | null;
  /** One run per size: the raw payload, or the HTTP request body (POST). */
  readonly payloadSizes: readonly number[] | null;
  /** Raw payload bytes or HTTP body, when given literally (--payload, --payload-hex). */
  readonly payload: Buffer | null;
  readonly method: string | null;
  readonly headers: readonly string[];
  /** Raw TCP: the reply is complete after this many bytes (default: as many as were sent, an echo). */
  readonly replyBytes: number | null;
  /** Raw TCP: the reply is complete at this delimiter. */
  readonly delimiter: Buffer | null;
  readonly newConnection: boolean;
  readonly timeoutMs: number;
  /** Event loops to run the connections on; 'auto' = one per CPU (at most 4), never more than connections. */
  readonly threads: number | 'auto';
  readonly mss: number | null;
  /** How connections are opened: libuv handles (fast) or net.Socket (transport.ts). */
  readonly transport: TransportKind;
  /** https: skip certificate checks (--insecure). */
  readonly insecure: boolean;
  /** https: extra CA certificates to trust, PEM (--ca). */
  readonly caPem: string | null;
  readonly mssSweep: readonly number[] | null;
  /** The server's PID on this machine: its CPU per request is reported and compared. */
  readonly serverPid: number | null;
  readonly baselineFile: string | null;
  readonly thresholds: BaselineThresholds;
  readonly signal?: AbortSignal;
  /** Called about 5 times a second while a run is going (for a progress bar). */
  readonly onProgress?: (progress: BenchProgress) => void;
}

export interface BenchProgress {
  readonly label: string;
  readonly run: number;
  readonly runs: number;
  readonly elapsedMs: number;
  readonly durationMs: number | null;
  readonly completed: number;
  readonly failed: number;
  readonly requestLimit: number | null;
}

export const DEFAULT_DURATION_MS = 10_000;
export const DEFAULT_RAW_PAYLOAD_BYTES = 64;
const PROGRESS_INTERVAL_MS = 200;

interface RunPlan {
  readonly payloadBytes: number;
  readonly mss: number | null;
  readonly request: Buffer;
  readonly reply: ReplyRule | null;
}

function validate(options: BenchOptions): void {
  if (options.requests === null && options.durationMs === null) throw new UsageError('bench needs a bound: --duration or --requests');
  if (options.threads !== 'auto' && options.threads > options.connections) {
    throw new UsageError(`--threads ${options.threads} is more than --connections ${options.connections}`, 'each thread needs at least one connection');
  }
  if (options.mss !== null && options.mssSweep !== null) throw new UsageError('give --mss or --mss-sweep, not both');
  if (options.payload !== null && options.payloadSizes !== null) throw new UsageError('give --payload or --payload-sizes, not both');
  if (options.replyBytes !== null && options.delimiter !== null) throw new UsageError('give --reply-bytes or --delimiter, not both');
  for (const mss of options.mssSweep ?? (options.mss === null ? [] : [options.mss])) {
    if (!inRange(mss, MSS)) throw new UsageError(`MSS ${mss} is out of range`, `the kernel accepts ${rangeText(MSS)}; typical values are 536, 1220, 1460`);
  }
}

function planRuns(options: BenchOptions, target: BenchTarget): RunPlan[] {
  const sizes: Array<number | null> = options.payloadSizes !== null ? [...options.payloadSizes] : [null];
  const msses: Array<number | null> = options.mssSweep !== null ? [...options.mssSweep] : [options.mss];
  const plans: RunPlan[] = [];
  for (const mss of msses) {
    for (const size of sizes) {
      let body: Buffer | null = size !== null ? fillerPayload(size) : options.payload;
      if (target.kind === 'tcp') {
        body ??= fillerPayload(DEFAULT_RAW_PAYLOAD_BYTES);
        if (body.length === 0) throw new UsageError('the raw TCP payload is empty', 'give --payload TEXT, --payload-hex HEX or --payload-sizes 64');
        const reply: ReplyRule = options.delimiter !== null
          ? { kind: 'delimiter', delimiter: options.delimiter }
          : { kind: 'length', bytes: options.replyBytes ?? body.length };
        plans.push({ payloadBytes: body.length, mss, request: body, reply });
      } else {
        const method = options.method ?? (body === null ? 'GET' : 'POST');
        // A client that closes after one request says so (RFC 9112 section 9.6); the server then
        // closes first and holds the TIME_WAIT, so the client's port search stays cheap.
        const saysConnection = options.headers.some((h) => /^connection\s*:/i.test(h));
        const headers = options.newConnection && !saysConnection ? [...options.headers, 'Connection: close'] : options.headers;
        const request = buildHttpRequest({ method, path: target.path, hostHeader: target.hostHeader, headers, body });
        plans.push({ payloadBytes: body?.length ?? 0, mss, request, reply: null });
      }
    }
  }
  return plans;
}

/**
 * One event loop per CPU, up to 4: a single loop saturates one core on small requests, and the
 * server under test usually shares the machine, so more loops than CPUs only add switching.
 */
export function resolveThreads(threads: number | 'auto', connections: number): number {
  if (threads !== 'auto') return threads;
  return Math.max(1, Math.min(availableParallelism(), MAX_AUTO_THREADS, connections));
}

const MAX_AUTO_THREADS = 4;

export async function runBench(requested: BenchOptions): Promise<{ report: BenchReport; regressed: boolean }> {
  validate(requested);
  const options = { ...requested, threads: resolveThreads(requested.threads, requested.connections) };
  const target = parseBenchTarget(options.target);
  if (target.kind === 'http' && (options.replyBytes !== null || options.delimiter !== null)) {
    throw new UsageError('--reply-bytes and --delimiter are for raw TCP targets', 'HTTP responses are framed by Content-Length or chunked encoding');
  }
  // Read the baseline first: a typo in its path should not cost a whole run.
  const baseline = options.baselineFile === null ? null : await readBaseline(options.baselineFile);
  if (options.serverPid !== null) processCpuMs(options.serverPid); // fail now if there is no such process
  const address = await resolveTargetAddress(target.host);
  const plans = planRuns(options, target);
  const runs: RunResult[] = [];
  for (const [index, plan] of plans.entries()) {
    if (options.signal?.aborted === true) break;
    runs.push(await runOne(options, target, address, plan, index, plans.length));
  }
  const settings: BenchSettings = {
    target: options.target,
    protocol: target.kind,
    connections: options.connections,
    threads: options.threads,
    newConnection: options.newConnection,
    rate: options.rate,
    durationMs: options.durationMs,
    requestLimit: options.requests,
    timeoutMs: options.timeoutMs,
    transport: runs[0]?.transport ?? options.transport,
  };
  let report = buildReport(settings, runs);
  if (baseline !== null && options.baselineFile !== null) {
    report = { ...report, baseline: compareWithBaseline(options.baselineFile, baseline, report, options.thresholds) };
  }
  return { report, regressed: report.baseline?.verdict === 'regressed' };
}

async function runOne(options: BenchOptions & { readonly threads: number }, target: BenchTarget, address: string, plan: RunPlan, index: number, total: number): Promise<RunResult> {
  const control = newControlBlock();
  const threads = options.threads;
  const configs: EngineConfig[] = [];
  for (let t = 0; t < threads; t++) {
    // Spread connections (and the rate) as evenly as the counts allow.
    const connections = Math.floor(options.connections / threads) + (t < options.connections % threads ? 1 : 0);
    configs.push({
      address,
      port: target.port,
      protocol: target.kind,
      request: plan.request,
      headRequest: options.method === 'HEAD',
      reply: plan.reply,
      connections,
      newConnection: options.newConnection,
      ratePerSecond: options.rate === null ? null : (options.rate * connections) / options.connections,
      durationMs: options.durationMs,
      requestLimit: options.requests,
      timeoutMs: options.timeoutMs,
      mss: plan.mss,
      transport: options.transport,
      tls: target.kind === 'http' && target.tls
        ? { servername: isIP(target.host) === 0 ? target.host : null, verify: !options.insecure, ca: options.caPem }
        : null,
      control,
    });
  }
  const onAbort = (): void => {
    Atomics.store(control, CTL_STOP, 1);
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const label = `${plan.payloadBytes} B${plan.mss === null ? '' : `, MSS ${plan.mss}`}`;
  const startedMs = performance.now();
  const progress = options.onProgress === undefined ? undefined : setInterval(() => {
    options.onProgress?.({
      label, run: index + 1, runs: total, elapsedMs: performance.now() - startedMs, durationMs: options.durationMs,
      completed: Atomics.load(control, CTL_COMPLETED), failed: Atomics.load(control, CTL_FAILED), requestLimit: options.requests,
    });
  }, PROGRESS_INTERVAL_MS);
  const cpuBefore = sampleCpu(options.serverPid);
  try {
    const running = configs.map((config) => (threads === 1 ? runEngine(config) : runInWorker(config)));
    if (threads > 1) void releaseWhenReady(control, threads);
    let results: EngineResult[];
    try {
      results = await Promise.all(running);
    } catch (error: unknown) {
      // One worker failed: stop (and release) the others, let them wind down, then report.
      Atomics.store(control, CTL_STOP, 1);
      Atomics.store(control, CTL_GO, 1);
      Atomics.notify(control, CTL_GO);
      await Promise.allSettled(running);
      throw error;
    }
    const wallMs = performance.now() - startedMs;
    const cpuAfter = sampleCpu(options.serverPid);
    const requests = results.reduce((n, r) => n + r.requests, 0);
    const serverMs = cpuBefore.serverMs === null || cpuAfter.serverMs === null ? null : cpuAfter.serverMs - cpuBefore.serverMs;
    return mergeEngineResults(results, plan.payloadBytes, plan.mss, cpuFigures(wallMs, cpuAfter.clientMs - cpuBefore.clientMs, serverMs, requests));
  } finally {
    if (progress !== undefined) clearInterval(progress);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** Let the workers go once all have loaded (they block on CTL_GO; 10 s at most). */
async function releaseWhenReady(control: Int32Array, threads: number): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (Atomics.load(control, CTL_READY) < threads && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  Atomics.store(control, CTL_GO, 1);
  Atomics.notify(control, CTL_GO);
}

function runInWorker(config: EngineConfig): Promise<EngineResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: { config } });
    let settled = false;
    worker.once('message', (message: { ok: true; result: EngineResult } | { ok: false; message: string }) => {
      settled = true;
      if (message.ok) resolve(message.result);
      else reject(new TcpdiagError('TCPDIAG_BENCH_WORKER', `a load worker failed: ${message.message}`));
    });
    worker.once('error', (error: Error) => {
      settled = true;
      reject(new TcpdiagError('TCPDIAG_BENCH_WORKER', `a load worker crashed: ${error.message}`, { cause: error }));
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new TcpdiagError('TCPDIAG_BENCH_WORKER', `a load worker exited (code ${code}) without a result`));
    });
  });
}
