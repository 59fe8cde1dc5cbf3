/**
 * `tcpdiag bench TARGET`: the load generator. Wiring only: flags in, report
 * out; the load loop lives in src/assist/bench/.
 */
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { action, out } from '../run.js';
import { stopOnSignal } from '../lifetime.js';
import { loadConfig, printJson } from '../context.js';
import { collect, decimal, duration, integer, list, oneOf, parseCount, parseMss, parsePid, size } from '../options.js';
import { showValue } from '../../model/show-value.js';
import { BYTES, CONNECTIONS, ERROR_RATE_PERCENT, FILE_LIMITS, PERCENT_CHANGE, REQUEST_RATE, STEP_TIMEOUT, THREADS } from '../../model/limits.js';
import { parseDecimalInteger } from '../../model/units.js';

interface BenchFlags {
  connections: number;
  duration?: number;
  requests?: number;
  rate?: number;
  payload?: string;
  payloadHex?: Buffer;
  payloadSizes?: number[];
  method?: string;
  header?: string[];
  replyBytes?: number;
  delimiter?: string;
  newConnection?: boolean;
  timeout?: number;
  threads: number | 'auto';
  mss?: number;
  transport: 'handle' | 'net';
  mssSweep?: number[];
  baseline?: string;
  serverPid?: number;
  maxCpuIncrease: number;
  maxLatencyIncrease: number;
  maxThroughputDrop: number;
  maxErrorRateIncrease: number;
  maxErrorRate: number;
  progress: boolean;
  insecure?: boolean;
  ca?: string;
  json?: boolean;
}

function parseHex(text: string): Buffer {
  const digits = text.replace(/0x/gi, '').replace(/[\s:,-]/g, '');
  if (digits.length === 0 || digits.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(digits)) {
    throw new InvalidArgumentError(`${showValue(text)} is not hex bytes: write "48 65 6c 6c 6f" or 48656c6c6f`);
  }
  return Buffer.from(digits, 'hex');
}

function parseMethod(text: string): string {
  const method = text.toUpperCase();
  if (!/^[A-Z]{1,20}$/.test(method)) throw new InvalidArgumentError(`${showValue(text)} is not an HTTP method`);
  return method;
}

/** "\n", "\r\n", "\t", "\\" and "\xNN" escapes, so a delimiter can be typed on a shell line. */
export function unescapeDelimiter(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] ?? '';
    if (ch !== '\\' || i === text.length - 1) {
      bytes.push(...Buffer.from(ch, 'utf8'));
      continue;
    }
    const next = text[++i];
    if (next === 'n') bytes.push(0x0a);
    else if (next === 'r') bytes.push(0x0d);
    else if (next === 't') bytes.push(0x09);
    else if (next === '0') bytes.push(0x00);
    else if (next === '\\') bytes.push(0x5c);
    else if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else throw new InvalidArgumentError(`unknown escape "\\${next ?? ''}" in the delimiter: use \\n, \\r, \\t, \\0, \\\\ or \\xNN`);
  }
  if (bytes.length === 0) throw new InvalidArgumentError('the delimiter is empty');
  return Buffer.from(bytes);
}

const parseThreads = Object.assign(
  (text: string): number | 'auto' => (text === 'auto' ? 'auto' : parseDecimalInteger(text, THREADS)),
  { accepts: `auto or ${THREADS.min}-${THREADS.max}` },
);

const parseTransport = oneOf(['handle', 'net'] as const);

function progressLine(p: { label: string; run: number; runs: number; elapsedMs: number; durationMs: number | null; completed: number; failed: number; requestLimit: number | null }): string {
  const fraction = Math.min(1, Math.max(
    p.durationMs === null ? 0 : p.elapsedMs / p.durationMs,
    p.requestLimit === null ? 0 : p.completed / p.requestLimit,
  ));
  const width = 24;
  const filled = Math.round(fraction * width);
  const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
  const rate = p.elapsedMs > 0 ? Math.round((p.completed / p.elapsedMs) * 1000) : 0;
  const run = p.runs > 1 ? `run ${p.run}/${p.runs} (${p.label}) ` : '';
  return `\r${run}[${bar}] ${(p.elapsedMs / 1000).toFixed(1)} s  ${p.completed} done  ${p.failed} failed  ${rate}/s\u001b[K`;
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('load-test a TCP or HTTP/1.1 service: connect and response-time percentiles, throughput, status codes, errors by class, retransmissions')
    .argument('<target>', 'http(s)://HOST[:PORT]/PATH (HTTP/1.1 keep-alive) or HOST:PORT (raw TCP)')
    .option('-c, --connections <n>', 'concurrent connections (as wrk -c)', integer(CONNECTIONS), 10)
    .option('-d, --duration <time>', 'how long each run lasts (as wrk -d; default 10s unless --requests is given)', duration())
    .option('-n, --requests <n>', 'stop after exactly this many requests (per run; as ab -n)', parseCount)
    .option('-R, --rate <per-second>', 'open loop at this many requests/s in total (as wrk2 -R); latency counts from the intended send time', decimal(REQUEST_RATE))
    .option('--payload <text>', 'raw TCP payload, or HTTP request body (POST)')
    .option('--payload-hex <hex>', 'payload as hex bytes ("48 65 6c 6c 6f")', parseHex)
    .option('--payload-sizes <list>', 'one run per payload size: 64,1k,64k', list(size(BYTES)))
    .option('-m, --method <method>', 'HTTP method (default GET, or POST with a payload)', parseMethod)
    .option('-H, --header <header>', 'extra HTTP header "Name: value" (repeatable)', collect((s: string) => s))
    .option('--reply-bytes <n>', 'raw TCP: a reply is complete after N bytes (default: as many as sent, an echo)', size(BYTES))
    .option('--delimiter <text>', 'raw TCP: a reply is complete at this delimiter (escapes: \\n \\r \\t \\xNN)')
    .option('--new-connection', 'open a new connection for every request instead of keeping them alive')
    .option('--timeout <time>', 'connect and per-request timeout (as wrk --timeout; default 5s)', duration(STEP_TIMEOUT))
    .option('--latency', 'print the latency percentiles (always printed; accepted as in wrk --latency)')
    .option('-t, --threads <n>', 'run the load loop on N event loops (as wrk -t): worker threads that split the connections; auto = one per CPU, at most 4', parseThreads, 'auto')
    .option('--transport <kind>', 'how connections are opened: handle (libuv handles, fast) or net (net.Socket)', parseTransport, 'handle')
    .option('--mss <bytes>', 'set TCP_MAXSEG before each SYN (needs the native addon)', parseMss)
    .option('--mss-sweep <list>', 'run the same load at each MSS and compare throughput: 536,1220,1460', list(parseMss))
    .option('--server-pid <pid>', 'the server\'s process on this machine: report (and compare) its CPU per request', parsePid)
    .option('--baseline <file>', 'compare with an earlier --json result; exit status 3 when regressed')
    .option('--max-latency-increase <pct>', 'with --baseline: allowed p50/p99 response-time growth, percent', decimal(PERCENT_CHANGE), 20)
    .option('--max-throughput-drop <pct>', 'with --baseline: allowed requests/s drop, percent', decimal(PERCENT_CHANGE), 10)
    .option('--max-error-rate-increase <points>', 'with --baseline: allowed error-rate rise, percentage points', decimal(PERCENT_CHANGE), 1)
    .option('--max-cpu-increase <pct>', 'with --baseline and --server-pid: allowed growth of server CPU per request, percent', decimal(PERCENT_CHANGE), 20)
    .option('--max-error-rate <pct>', 'exit 1 when failed requests plus non-2xx responses pass this percent of all requests (100: never)', decimal(ERROR_RATE_PERCENT), 1)
    .option('--insecure', 'https: accept any certificate (as curl --insecure); by default it must chain to a trusted CA and name the host')
    .option('--ca <file>', 'https: also trust this CA certificate (PEM)')
    .option('--no-progress', 'no progress bar (it is only drawn when stderr is a terminal)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', `
Short flags follow wrk(1) and wrk2: -c connections, -d duration, -t threads, -R rate, -H header
(and ab's -n requests), so wrk -t2 -c50 -d30s --latency URL works as it is.

Examples:
  tcpdiag bench -t2 -c50 -d10s http://127.0.0.1:8080/      keep-alive HTTP load, closed loop (as wrk)
  tcpdiag bench -c20 -R2000 -d30s http://127.0.0.1:8080/api   open loop at 2000 req/s (as wrk2; no coordinated omission)
  tcpdiag bench 127.0.0.1:7000 --payload-sizes 64,1k,64k -n 10000  raw TCP against an echo server
  tcpdiag bench 127.0.0.1:6379 --payload $'PING\\r\\n' --delimiter '\\r\\n'   a line protocol
  tcpdiag bench http://127.0.0.1:8080/ --new-connection -c 20 -d 5s   connection setup cost
  tcpdiag bench 10.0.0.5:9000 --payload-sizes 64k --mss-sweep 536,1220,1460 -d 5s
  tcpdiag bench https://127.0.0.1:8443/ -c 10 -d 10s --ca ca.pem   TLS, the server's certificate checked
  tcpdiag bench --insecure https://127.0.0.1:8443/ -d 10s          TLS with a self-signed certificate
  tcpdiag bench http://svc:8080/ -d 20s --json > before.json
  tcpdiag bench http://svc:8080/ -d 20s --baseline before.json   PASS or REGRESSED (exit 3)
  tcpdiag bench http://127.0.0.1:8080/ -d 20s --server-pid $(pgrep -o nginx) --baseline before.json

Errors are counted by class: refused, timeout, reset, unreachable, closed (before the reply),
malformed (reply does not parse), http (status >= 400), ports (no local port), fds, tls (the
handshake or the certificate check failed: see the sample; --insecure skips the check), other.
https: HTTP/1.1 over TLS on each connection (net.Socket + TLS, whatever --transport says);
connect percentiles include the TLS handshake, as wrk's do.
requests = successes + all errors. Retransmissions come from each socket's tcp_info at close.
A connection whose connect fails (refused, unreachable, timed out) waits 10 ms before trying
again, doubling per failure in a row up to 1 s.
Exit status: 1 when the error rate (failed requests, plus HTTP responses other than 2xx)
passes --max-error-rate (default 1%), 3 when --baseline finds a regression, else 0.
`)
    .action(action(async (targetText: string, flags: BenchFlags, command: Command) => {
      loadConfig(command, { sections: [] });
      const { runBench } = await import('../../assist/bench/run.js');
      const { renderReportText } = await import('../../assist/bench/report.js');
      if (flags.payload !== undefined && flags.payloadHex !== undefined) {
        throw new UsageError('give --payload or --payload-hex, not both');
      }
      if ((flags.insecure === true || flags.ca !== undefined) && !/^https:\/\//i.test(targetText.trim())) {
        throw new UsageError('--insecure and --ca are for https:// targets');
      }
      let caPem: string | null = null;
      if (flags.ca !== undefined) {
        const { readBoundedFile } = await import('../../platform/read-file.js');
        caPem = (await readBoundedFile(flags.ca, FILE_LIMITS.caBundle, 'CA bundle')).toString('utf8');
      }
      const controller = stopOnSignal();
      const showProgress = flags.progress && process.stderr.isTTY === true;
      let drew = false;
      try {
        const { report, regressed } = await runBench({
          target: targetText,
          connections: flags.connections,
          durationMs: flags.duration ?? (flags.requests === undefined ? 10_000 : null),
          requests: flags.requests ?? null,
          rate: flags.rate ?? null,
          payloadSizes: flags.payloadSizes ?? null,
          payload: flags.payloadHex ?? (flags.payload === undefined ? null : Buffer.from(flags.payload, 'utf8')),
          method: flags.method ?? null,
          headers: flags.header ?? [],
          replyBytes: flags.replyBytes ?? null,
          delimiter: flags.delimiter === undefined ? null : unescapeDelimiter(flags.delimiter),
          newConnection: flags.newConnection === true,
          timeoutMs: flags.timeout ?? 5000,
          threads: flags.threads,
          mss: flags.mss ?? null,
          transport: flags.transport,
          insecure: flags.insecure === true,
          caPem,
          mssSweep: flags.mssSweep ?? null,
          baselineFile: flags.baseline ?? null,
          serverPid: flags.serverPid ?? null,
          thresholds: {
            latencyPct: flags.maxLatencyIncrease,
            throughputPct: flags.maxThroughputDrop,
            errorRatePoints: flags.maxErrorRateIncrease,
            cpuPct: flags.maxCpuIncrease,
          },
          signal: controller.signal,
          ...(showProgress ? { onProgress: (p) => { drew = true; process.stderr.write(progressLine(p)); } } : {}),
        });
        if (drew) process.stderr.write('\r\u001b[K');
        if (flags.json === true) printJson(report, true);
        else out(renderReportText(report));
        if (report.errorRatePercent > flags.maxErrorRate) {
          process.stderr.write(`tcpdiag: FAILED: ${report.errorRatePercent}% of ${report.requests} requests failed or were not 2xx, above --max-error-rate ${flags.maxErrorRate}%\n`);
          return 1;
        }
        return regressed ? 3 : 0;
      } finally {
        controller.release();
      }
    }));
}
