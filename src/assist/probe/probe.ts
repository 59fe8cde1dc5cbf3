/**
 * `tcpdiag probe`: a layered connectivity check. Each step is timed and each failure named:
 * name resolution -> TCP connect -> TLS handshake -> HTTP request, plus the kernel's tcp_info
 * for the connection. `count` attempts are summarised. Library code: returns data, never prints.
 */
import net from 'node:net';
import { abortableSleep } from '../../platform/abortable-sleep.js';
import tls from 'node:tls';
import http from 'node:http';
import { lookup } from 'node:dns/promises';
import { tcpInfoOf } from '../socket-options.js';
import { formatHostPort } from '../client/endpoint.js';
import { classifyError } from './classify.js';
import type { FailureClass, StepError } from './classify.js';
import { inspectTls } from './tls-check.js';
import type { TlsReport } from './tls-check.js';
import type { ProbeTarget } from './target.js';
import { systemError } from '../../errors.js';

export type StepName = 'dns' | 'connect' | 'tls' | 'http';

export interface ProbeStep {
  readonly name: StepName;
  readonly ok: boolean;
  readonly ms: number;
  readonly error: StepError | null;
  /** What the step found: addresses, endpoints, TLS report, HTTP status and timings. */
  readonly detail: Record<string, unknown>;
}

export interface ProbeTcpInfo {
  readonly state: string;
  readonly rttMs: number;
  readonly rttvarMs: number;
  readonly minRttMs: number | null;
  /** Consecutive unanswered retransmissions (SYNs while connecting). */
  readonly retransmits: number;
  readonly totalRetrans: number;
  readonly lost: number;
  readonly mss: number;
  readonly pmtu: number;
  readonly cwnd: number;
}

export interface ProbeAttempt {
  readonly ok: boolean;
  readonly ms: number;
  readonly steps: ProbeStep[];
  readonly tcpInfo: ProbeTcpInfo | null;
  /** What happened, in order, so a failure says what it was waiting for. */
  readonly log: string[];
}

export interface ProbeOptions {
  readonly target: ProbeTarget;
  /** Per-step deadline. */
  readonly timeoutMs: number;
  readonly count: number;
  readonly intervalMs: number;
  readonly method: string;
  /** TLS: extra trusted CA certificates (PEM); cert problems still listed either way. */
  readonly ca: string | null;
  /** TLS SNI / name checked against the certificate; default: the target host. */
  readonly servername: string | null;
  /** Cert problems do not fail the tls step (they are still reported). */
  readonly insecure: boolean;
  readonly family: 0 | 4 | 6;
  readonly signal: AbortSignal;
}

export interface StepStats {
  readonly count: number;
  readonly minMs: number;
  readonly avgMs: number;
  readonly p50Ms: number;
  readonly maxMs: number;
}

export interface ProbeSummary {
  readonly attempts: number;
  readonly ok: number;
  readonly failed: number;
  readonly errors: Partial<Record<FailureClass, number>>;
  /** Timings of the successful steps, per step name. */
  readonly steps: Partial<Record<StepName, StepStats>>;
  readonly statusCodes: Record<string, number>;
}

export interface ProbeReport {
  readonly target: string;
  readonly attempts: ProbeAttempt[];
  readonly summary: ProbeSummary;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

function timeoutError(message: string): NodeJS.ErrnoException {
  return systemError('ETIMEDOUT', message);
}

function kernelView(socket: net.Socket | null, stateHint: string): ProbeTcpInfo | null {
  if (socket === null) return null;
  const info = tcpInfoOf(socket);
  if (info === null) return null;
  return {
    state: stateHint,
    rttMs: info.rttMs,
    rttvarMs: info.rttvarMs,
    minRttMs: info.minRttMs,
    retransmits: info.retransmits,
    totalRetrans: info.totalRetrans,
    lost: info.lost,
    mss: info.mss,
    pmtu: info.pmtu,
    cwnd: info.cwnd,
  };
}

/** Run `fn` with a deadline; the AbortSignal ends the wait too. */
function withDeadline<T>(timeoutMs: number, signal: AbortSignal, what: string, fn: (settle: { timedOut: () => boolean }) => Promise<T>): Promise<T> {
  let timedOut = false;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      timedOut = true;
      reject(timeoutError(`${what}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(systemError('ABORTED', 'aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    fn({ timedOut: () => timedOut }).then(
      (value) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

export async function probeOnce(options: ProbeOptions): Promise<ProbeAttempt> {
  const { target } = options;
  const steps: ProbeStep[] = [];
  const log: string[] = [];
  const attemptStarted = performance.now();
  let socket: net.Socket | null = null;
  let tlsSocket: tls.TLSSocket | null = null;
  let tcpInfo: ProbeTcpInfo | null = null;

  const finish = (): ProbeAttempt => {
    tlsSocket?.destroy();
    socket?.destroy();
    return { ok: steps.every((s) => s.ok), ms: round(performance.now() - attemptStarted), steps, tcpInfo, log };
  };

  // 1. Name resolution (getaddrinfo, as every client on this host does it).
  let address: string;
  {
    const started = performance.now();
    try {
      const found =
        net.isIP(target.host) !== 0
          ? [{ address: target.host, family: net.isIP(target.host) }]
          : await withDeadline(options.timeoutMs, options.signal, `resolving ${target.host}`, () =>
              lookup(target.host, { all: true, family: options.family }),
            );
      const first = found[0];
      if (first === undefined) throw systemError('ENODATA', `${target.host} has no addresses`);
      address = first.address;
      const ms = round(performance.now() - started);
      log.push(`resolved ${target.host} -> ${found.map((a) => a.address).join(', ')} in ${ms} ms`);
      const literal = net.isIP(target.host) !== 0;
      steps.push({ name: 'dns', ok: true, ms: literal ? 0 : ms, error: null, detail: { address, addresses: found.map((a) => a.address), literal } });
    } catch (error: unknown) {
      const stepError = classifyError('dns', error);
      const dnsError = stepError.class === 'timeout' ? { ...stepError, class: 'dns' as const } : stepError;
      log.push(`resolving ${target.host} failed: ${dnsError.message}`);
      steps.push({ name: 'dns', ok: false, ms: round(performance.now() - started), error: dnsError, detail: {} });
      return finish();
    }
  }

  // 2. TCP three-way handshake.
  const remote = formatHostPort(address, target.port);
  {
    const started = performance.now();
    const candidate = new net.Socket();
    socket = candidate;
    try {
      await withDeadline(options.timeoutMs, options.signal, `connecting to ${remote}`, () =>
        new Promise<void>((resolve, reject) => {
          candidate.once('error', reject);
          candidate.once('connect', () => {
            candidate.off('error', reject);
            resolve();
          });
          candidate.connect({ host: address, port: target.port, noDelay: true });
        }),
      );
      const ms = round(performance.now() - started);
      const local = formatHostPort(candidate.localAddress ?? '?', candidate.localPort ?? 0);
      log.push(`connected ${local} -> ${remote} in ${ms} ms`);
      steps.push({ name: 'connect', ok: true, ms, error: null, detail: { remote, local } });
      candidate.on('error', () => undefined); // later errors belong to the later steps
    } catch (error: unknown) {
      const ms = round(performance.now() - started);
      const stepError = classifyError('connect', error);
      // tcp_info of the socket still in SYN_SENT: how many SYNs went unanswered.
      tcpInfo = kernelView(candidate, stepError.class === 'timeout' ? 'SYN_SENT' : 'CLOSE');
      const message =
        stepError.class === 'timeout'
          ? `SYN sent to ${remote}${tcpInfo === null ? '' : `, ${tcpInfo.retransmits} SYN retransmits`}, no SYN-ACK within ${options.timeoutMs} ms`
          : `connect to ${remote}: ${stepError.message}`;
      log.push(message);
      steps.push({ name: 'connect', ok: false, ms, error: { ...stepError, message }, detail: { remote } });
      return finish();
    }
  }
  const raw = socket;

  // 3. TLS handshake (https only).
  if (target.kind === 'https') {
    const started = performance.now();
    const servername = options.servername ?? target.host;
    try {
      const secured = await withDeadline(options.timeoutMs, options.signal, 'TLS handshake', () =>
        new Promise<tls.TLSSocket>((resolve, reject) => {
          const s = tls.connect({
            socket: raw,
            // SNI only for names (RFC 6066 3: literal addresses are not sent).
            ...(net.isIP(servername) === 0 ? { servername } : {}),
            // Verify ourselves, so every problem is collected instead of the first aborting.
            rejectUnauthorized: false,
            ALPNProtocols: ['http/1.1'],
            ...(options.ca === null ? {} : { ca: [...tls.rootCertificates, options.ca] }),
          });
          tlsSocket = s;
          s.once('error', reject);
          s.once('secureConnect', () => {
            s.off('error', reject);
            s.on('error', () => undefined);
            resolve(s);
          });
        }),
      );
      const ms = round(performance.now() - started);
      const report: TlsReport = inspectTls(secured, servername, options.ca === null ? [] : [options.ca]);
      const failed = report.problems.length > 0 && !options.insecure;
      const first = report.problems[0];
      log.push(`TLS ${report.protocol ?? '?'} ${report.cipher ?? '?'} in ${ms} ms${report.problems.length > 0 ? `; problems: ${report.problems.map((p) => p.code).join(', ')}` : ''}`);
      steps.push({
        name: 'tls',
        ok: !failed,
        ms,
        error: failed && first !== undefined ? { class: 'tls', code: first.code, message: report.problems.map((p) => p.message).join('; ') } : null,
        detail: { ...report },
      });
    } catch (error: unknown) {
      const stepError = classifyError('tls', error);
      tcpInfo = kernelView(raw, 'ESTABLISHED');
      log.push(`TLS handshake failed: ${stepError.message}`);
      steps.push({ name: 'tls', ok: false, ms: round(performance.now() - started), error: stepError, detail: {} });
      return finish();
    }
  }

  // 4. HTTP request.
  if (target.kind !== 'tcp') {
    const stream: net.Socket = tlsSocket ?? raw;
    const started = performance.now();
    // Time to first byte = until the response head arrived: Node's HTTP parser reads the socket
    // directly (no 'data' events to hook), and a head fits in the first segment in practice.
    let firstByteAt: number | null = null;
    try {
      const result = await withDeadline(options.timeoutMs, options.signal, `HTTP ${options.method} ${target.path}`, () =>
        new Promise<{ status: number; statusText: string; bytes: number; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
          const request = http.request({
            method: options.method,
            path: target.path,
            host: target.host,
            port: target.port,
            headers: { Host: formatHostPort(target.host, target.port).replace(/:(80|443)$/, ''), 'User-Agent': 'tcpdiag-probe/0.1', Accept: '*/*', Connection: 'close' },
            // No agent: with one, Node opens its own connection and ignores createConnection.
            createConnection: () => stream,
          });
          request.once('error', reject);
          request.once('response', (response) => {
            firstByteAt = performance.now();
            let bytes = 0;
            response.on('data', (chunk: Buffer) => (bytes += chunk.length));
            response.once('error', reject);
            response.once('end', () => resolve({ status: response.statusCode ?? 0, statusText: response.statusMessage ?? '', bytes, headers: response.headers }));
          });
          request.end();
        }),
      );
      const ms = round(performance.now() - started);
      tcpInfo = kernelView(raw, 'ESTABLISHED');
      const ttfbMs = firstByteAt === null ? null : round(firstByteAt - started);
      const ok = result.status < 400;
      log.push(`HTTP ${result.status} ${result.statusText}: first byte after ${ttfbMs ?? '?'} ms, ${result.bytes} body bytes in ${ms} ms`);
      steps.push({
        name: 'http',
        ok,
        ms,
        error: ok ? null : { class: 'http', code: `HTTP_${result.status}`, message: `${result.status} ${result.statusText}`.trim() },
        detail: { status: result.status, statusText: result.statusText, ttfbMs, totalMs: ms, bodyBytes: result.bytes, server: result.headers.server ?? null },
      });
    } catch (error: unknown) {
      tcpInfo = kernelView(raw, 'ESTABLISHED');
      const stepError = classifyError('http', error);
      log.push(`HTTP ${options.method} ${target.path} failed: ${stepError.message}`);
      steps.push({ name: 'http', ok: false, ms: round(performance.now() - started), error: stepError, detail: {} });
    }
  } else {
    tcpInfo = kernelView(raw, 'ESTABLISHED');
  }
  return finish();
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

export function summarize(attempts: readonly ProbeAttempt[]): ProbeSummary {
  const errors: Partial<Record<FailureClass, number>> = {};
  const timings = new Map<StepName, number[]>();
  const statusCodes: Record<string, number> = {};
  for (const attempt of attempts) {
    for (const step of attempt.steps) {
      if (step.error !== null) errors[step.error.class] = (errors[step.error.class] ?? 0) + 1;
      if (step.ok) timings.set(step.name, [...(timings.get(step.name) ?? []), step.ms]);
      const status = step.detail.status;
      if (step.name === 'http' && typeof status === 'number') statusCodes[String(status)] = (statusCodes[String(status)] ?? 0) + 1;
    }
  }
  const steps: Partial<Record<StepName, StepStats>> = {};
  for (const [name, values] of timings) {
    const sorted = [...values].sort((a, b) => a - b);
    steps[name] = {
      count: sorted.length,
      minMs: sorted[0] ?? 0,
      avgMs: round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
      p50Ms: percentile(sorted, 50),
      maxMs: sorted.at(-1) ?? 0,
    };
  }
  const ok = attempts.filter((a) => a.ok).length;
  return { attempts: attempts.length, ok, failed: attempts.length - ok, errors, steps, statusCodes };
}

export async function runProbe(options: ProbeOptions, onAttempt: (attempt: ProbeAttempt, index: number) => void = () => undefined): Promise<ProbeReport> {
  const attempts: ProbeAttempt[] = [];
  for (let i = 0; i < options.count && !options.signal.aborted; i++) {
    if (i > 0) await abortableSleep(options.intervalMs, options.signal);
    if (options.signal.aborted) break;
    const attempt = await probeOnce(options);
    attempts.push(attempt);
    onAttempt(attempt, i);
  }
  return { target: options.target.display, attempts, summary: summarize(attempts) };
}
