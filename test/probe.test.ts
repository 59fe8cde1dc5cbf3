/**
 * tcpdiag probe end to end: each failure class produced for real on loopback (a closed port,
 * SYN-ACKs dropped by nft, an ICMP reject, a server that resets, a TLS server with an expired
 * certificate, an HTTP server answering 504) and the --json contract.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import http from 'node:http';
import https from 'node:https';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';
import { isRoot, findExecutable } from '../src/platform/capabilities.js';
import { nativeAddon } from '../src/native/index.js';

interface Step {
  name: string;
  ok: boolean;
  ms: number;
  error: { class: string; code: string; message: string } | null;
  detail: Record<string, unknown>;
}
interface Report {
  target: string;
  attempts: Array<{ ok: boolean; steps: Step[]; tcpInfo: Record<string, number | string> | null; log: string[] }>;
  summary: { attempts: number; ok: number; failed: number; errors: Record<string, number>; statusCodes: Record<string, number>; steps: Record<string, { p50Ms: number }> };
}

async function probeJson(args: string[]): Promise<{ code: number | null; report: Report; stderr: string }> {
  const result = await runCli(['probe', ...args, '--json'], { timeoutMs: 30_000 });
  return { code: result.code, report: JSON.parse(result.stdout) as Report, stderr: result.stderr };
}

function stepOf(report: Report, name: string, attempt = 0): Step {
  const step = report.attempts[attempt]?.steps.find((s) => s.name === name);
  assert.ok(step, `no ${name} step in ${JSON.stringify(report)}`);
  return step;
}

/** Assert the contract shape of every step: name, ok, ms, error {class, code, message} | null. */
function assertContract(report: Report): void {
  assert.equal(typeof report.target, 'string');
  assert.ok(Array.isArray(report.attempts) && report.attempts.length > 0);
  assert.equal(typeof report.summary, 'object');
  for (const attempt of report.attempts) {
    for (const step of attempt.steps) {
      assert.ok(['dns', 'connect', 'tls', 'http'].includes(step.name));
      assert.equal(typeof step.ok, 'boolean');
      assert.equal(typeof step.ms, 'number');
      if (step.error === null) assert.ok(step.ok);
      else assert.deepEqual(Object.keys(step.error).sort(), ['class', 'code', 'message']);
    }
  }
}

async function listen(server: net.Server, host = '127.0.0.1'): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return (server.address() as net.AddressInfo).port;
}

async function closedPort(): Promise<number> {
  const s = net.createServer();
  const port = await listen(s);
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function nft(ruleset: string): void {
  const result = spawnSync('nft', ['-f', '-'], { input: ruleset, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`nft failed: ${result.stderr}`);
}

function canNft(): string | null {
  if (!isRoot()) return 'needs root: nft rules';
  if (findExecutable('nft') === null) return 'needs nft (apt-get install -y nftables)';
  return null;
}

// --- certificates, made with openssl in a temporary directory --------------------------------
let certDir = '';
function openssl(args: string[]): void {
  const result = spawnSync('openssl', args, { cwd: certDir, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${result.stderr}`);
}

/**
 * A self-signed certificate for localhost/127.0.0.1 valid between two dates. OpenSSL 3.0's
 * `req -x509` only takes a positive -days, so dates in the past go through `openssl ca
 * -selfsign -startdate -enddate`.
 */
function makeCert(name: string, startDate: string, endDate: string): { key: string; cert: string; certPath: string } {
  const db = join(certDir, `${name}-db`);
  mkdirSync(db);
  writeFileSync(join(db, 'index.txt'), '');
  writeFileSync(join(db, 'serial'), '01\n');
  writeFileSync(
    join(certDir, `${name}.cnf`),
    `[ca]\ndefault_ca = t\n[t]\ndatabase = ${db}/index.txt\nserial = ${db}/serial\nnew_certs_dir = ${db}\ndefault_md = sha256\npolicy = p\ncopy_extensions = copy\nunique_subject = no\n[p]\ncommonName = supplied\n`,
  );
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']);
  openssl(['ca', '-batch', '-config', `${name}.cnf`, '-selfsign', '-keyfile', `${name}.key`, '-in', `${name}.csr`, '-out', `${name}.pem`, '-startdate', startDate, '-enddate', endDate, '-notext']);
  return { key: readFileSync(join(certDir, `${name}.key`), 'utf8'), cert: readFileSync(join(certDir, `${name}.pem`), 'utf8'), certPath: join(certDir, `${name}.pem`) };
}

before(() => {
  certDir = mkdtempSync(join(tmpdir(), 'tcpdiag-probe-'));
});
after(() => {
  rmSync(certDir, { recursive: true, force: true });
});

function yyyymmdd(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
}

// --- tests ------------------------------------------------------------------------------------

test('a closed port is classified "refused" and the probe exits 1', async () => {
  const port = await closedPort();
  const { code, report } = await probeJson([`127.0.0.1:${port}`]);
  assert.equal(code, 1);
  assertContract(report);
  assert.equal(stepOf(report, 'dns').ok, true);
  const connect = stepOf(report, 'connect');
  assert.equal(connect.ok, false);
  assert.deepEqual({ class: connect.error?.class, code: connect.error?.code }, { class: 'refused', code: 'ECONNREFUSED' });
  assert.deepEqual(report.summary.errors, { refused: 1 });
  assert.equal(report.summary.failed, 1);
});

test('a port whose SYN-ACKs are dropped is classified "timeout" with the SYN retransmits counted', async (t) => {
  const why = canNft();
  if (why !== null) return t.skip(why);
  const server = net.createServer();
  const port = await listen(server);
  const table = `tcpdiag_probe_test_${process.pid}`;
  nft(`table inet ${table} {\n chain input {\n  type filter hook input priority 0; policy accept;\n  tcp sport ${port} tcp flags & (syn | ack) == syn | ack drop\n }\n}\n`);
  try {
    const { code, report } = await probeJson([`127.0.0.1:${port}`, '--timeout', '1500ms']);
    assert.equal(code, 1);
    assertContract(report);
    const connect = stepOf(report, 'connect');
    assert.equal(connect.error?.class, 'timeout');
    assert.ok(connect.ms >= 1400 && connect.ms < 5000, `connect step took ${connect.ms} ms`);
    assert.match(connect.error?.message ?? '', /no SYN-ACK within 1500 ms/);
    if (nativeAddon() !== null) {
      // Linux retransmits the SYN after 1 s (TCP_TIMEOUT_INIT, include/net/tcp.h).
      assert.equal(report.attempts[0]?.tcpInfo?.state, 'SYN_SENT');
      assert.ok(Number(report.attempts[0]?.tcpInfo?.retransmits) >= 1, JSON.stringify(report.attempts[0]?.tcpInfo));
    }
  } finally {
    spawnSync('nft', ['delete', 'table', 'inet', table]);
    server.close();
  }
});

test('an ICMP host-unreachable answer is classified "unreachable"', async (t) => {
  const why = canNft();
  if (why !== null) return t.skip(why);
  const port = await closedPort();
  const table = `tcpdiag_probe_test_unreach_${process.pid}`;
  nft(`table inet ${table} {\n chain output {\n  type filter hook output priority 0; policy accept;\n  tcp dport ${port} reject with icmpx type host-unreachable\n }\n}\n`);
  try {
    const { report } = await probeJson([`127.0.0.1:${port}`, '--timeout', '3s']);
    assert.equal(stepOf(report, 'connect').error?.class, 'unreachable');
    assert.equal(stepOf(report, 'connect').error?.code, 'EHOSTUNREACH');
  } finally {
    spawnSync('nft', ['delete', 'table', 'inet', table]);
  }
});

test('a name that does not resolve is classified "dns"', async () => {
  const { code, report } = await probeJson(['no-such-host.invalid:80', '--timeout', '5s']);
  assert.equal(code, 1);
  const dns = stepOf(report, 'dns');
  assert.equal(dns.error?.class, 'dns');
  assert.equal(report.attempts[0]?.steps.length, 1);
});

test('a server that resets after the handshake is classified "reset"', async () => {
  const server = net.createServer((socket) => socket.once('data', () => socket.resetAndDestroy()));
  const port = await listen(server);
  try {
    const { code, report } = await probeJson([`http://127.0.0.1:${port}/`]);
    assert.equal(code, 1);
    assertContract(report);
    assert.equal(stepOf(report, 'connect').ok, true);
    assert.deepEqual({ class: stepOf(report, 'http').error?.class, code: stepOf(report, 'http').error?.code }, { class: 'reset', code: 'ECONNRESET' });
  } finally {
    server.close();
  }
});

test('an HTTP 504 is an "http" failure with its status, time to first byte and total', async () => {
  const server = http.createServer((_req, res) => {
    setTimeout(() => {
      res.writeHead(504, { 'Content-Type': 'text/plain' });
      res.end('upstream timed out\n');
    }, 50);
  });
  const port = await listen(server);
  try {
    const { code, report } = await probeJson([`http://127.0.0.1:${port}/api?x=1`]);
    assert.equal(code, 1);
    assertContract(report);
    const step = stepOf(report, 'http');
    assert.deepEqual(step.error, { class: 'http', code: 'HTTP_504', message: '504 Gateway Timeout' });
    assert.equal(step.detail.status, 504);
    assert.equal(step.detail.bodyBytes, 19);
    assert.ok(Number(step.detail.ttfbMs) >= 45 && Number(step.detail.ttfbMs) <= step.ms, JSON.stringify(step));
    assert.deepEqual(report.summary.statusCodes, { '504': 1 });
    assert.deepEqual(report.summary.errors, { http: 1 });
  } finally {
    server.close();
  }
});

test('--count repeats and summarises; tcp_info of the connection is in each attempt', async () => {
  let requests = 0;
  const server = http.createServer((_req, res) => {
    requests++;
    res.end('ok');
  });
  const port = await listen(server);
  try {
    const { code, report } = await probeJson([`http://127.0.0.1:${port}/`, '--count', '3', '--interval', '50ms']);
    assert.equal(code, 0);
    assert.equal(requests, 3);
    assert.equal(report.attempts.length, 3);
    assert.deepEqual({ attempts: report.summary.attempts, ok: report.summary.ok, failed: report.summary.failed }, { attempts: 3, ok: 3, failed: 0 });
    assert.deepEqual(report.summary.statusCodes, { '200': 3 });
    assert.deepEqual(report.attempts[0]?.steps.map((s) => s.name), ['dns', 'connect', 'http']);
    if (nativeAddon() !== null) {
      const info = report.attempts[0]?.tcpInfo;
      assert.equal(info?.state, 'ESTABLISHED');
      assert.equal(info?.totalRetrans, 0);
      assert.ok(Number(info?.rttMs) > 0);
    }
  } finally {
    server.close();
  }
});

test('a TLS server with an expired self-signed certificate: every problem is listed, HTTP still checked', async () => {
  const now = new Date();
  const { key, cert, certPath } = makeCert('expired', yyyymmdd(new Date(now.getTime() - 400 * 86_400_000)), yyyymmdd(new Date(now.getTime() - 35 * 86_400_000)));
  const server = https.createServer({ key, cert }, (_req, res) => res.end('hello'));
  const port = await listen(server);
  try {
    const { code, report } = await probeJson([`https://localhost:${port}/`]);
    assert.equal(code, 1);
    assertContract(report);
    const tlsStep = stepOf(report, 'tls');
    assert.equal(tlsStep.ok, false);
    assert.equal(tlsStep.error?.class, 'tls');
    const problems = (tlsStep.detail.problems as Array<{ code: string }>).map((p) => p.code);
    assert.ok(problems.includes('CERT_HAS_EXPIRED'), problems.join());
    assert.ok(problems.includes('DEPTH_ZERO_SELF_SIGNED_CERT'), problems.join());
    assert.ok(Number(tlsStep.detail.daysToExpiry) <= -35 && Number(tlsStep.detail.daysToExpiry) >= -36, String(tlsStep.detail.daysToExpiry));
    assert.equal(tlsStep.detail.subject, 'CN=localhost');
    assert.equal(tlsStep.detail.issuer, 'CN=localhost');
    assert.match(String(tlsStep.detail.protocol), /^TLSv1\.[23]$/);
    assert.equal(stepOf(report, 'http').detail.status, 200);

    // Trusting the certificate leaves exactly the expiry.
    const trusted = await probeJson([`https://localhost:${port}/`, '--ca', certPath]);
    assert.deepEqual((stepOf(trusted.report, 'tls').detail.problems as Array<{ code: string }>).map((p) => p.code), ['CERT_HAS_EXPIRED']);
  } finally {
    server.close();
  }
});

test('a valid certificate passes; a name mismatch is named', async () => {
  const now = new Date();
  const { key, cert, certPath } = makeCert('valid', yyyymmdd(new Date(now.getTime() - 86_400_000)), yyyymmdd(new Date(now.getTime() + 30.5 * 86_400_000)));
  const server = https.createServer({ key, cert }, (_req, res) => res.end('hello'));
  const port = await listen(server);
  try {
    const ok = await probeJson([`https://localhost:${port}/`, '--ca', certPath]);
    assert.equal(ok.code, 0, JSON.stringify(ok.report));
    const tlsStep = stepOf(ok.report, 'tls');
    assert.equal(tlsStep.ok, true);
    assert.equal(tlsStep.detail.daysToExpiry, 30);
    assert.deepEqual(tlsStep.detail.problems, []);

    const mismatch = await probeJson([`https://localhost:${port}/`, '--ca', certPath, '--servername', 'api.example.com']);
    assert.equal(stepOf(mismatch.report, 'tls').error?.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
  } finally {
    server.close();
  }
});

test('the text report names each step and the failure', async () => {
  const port = await closedPort();
  const result = await runCli(['probe', `127.0.0.1:${port}`]);
  assert.equal(result.code, 1);
  assert.match(result.stdout, /dns {6}ok/);
  assert.match(result.stdout, /connect {2}FAIL/);
  assert.match(result.stdout, /refused \(ECONNREFUSED\): connect to 127\.0\.0\.1:\d+: connection refused/);
});

test('https:// against a plain-HTTP port is a "tls" failure and HTTP is not attempted', async () => {
  const server = http.createServer((_req, res) => res.end('plain'));
  const port = await listen(server);
  try {
    const { code, report } = await probeJson([`https://127.0.0.1:${port}/`, '--timeout', '3s']);
    assert.equal(code, 1);
    assertContract(report);
    const tlsStep = stepOf(report, 'tls');
    assert.equal(tlsStep.error?.class, 'tls');
    assert.match(tlsStep.error?.code ?? '', /^ERR_SSL_/);
    assert.deepEqual(report.attempts[0]?.steps.map((s) => s.name), ['dns', 'connect', 'tls']);
  } finally {
    server.close();
  }
});
