/**
 * bench over https against a local TLS server whose self-signed certificate this test makes
 * with openssl: certificates are checked by default (a self-signed one fails as "tls"), pass
 * with --ca, fail on a name the certificate does not carry, and are skipped with --insecure.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import type net from 'node:net';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable } from '../src/platform/capabilities.js';
import { runCli } from './helpers/cli.js';
import { lookup } from 'node:dns/promises';

const SKIP = findExecutable('openssl') === null ? 'needs openssl (apt-get install -y openssl)' : false;

interface BenchJson {
  requests: number;
  successes: number;
  errors: Record<string, number>;
  errorSamples: Record<string, string>;
  statusCodes: Record<string, number>;
  connects: number;
  connectMs: { count: number };
  socketsSampled: number;
  errorRatePercent: number;
  settings: { transport: string };
}

const dir = mkdtempSync(join(tmpdir(), `tcpdiag-bench-tls-${process.pid}-`));
let server: https.Server | null = null;
let port = 0;
/** Where "localhost" resolves first here (127.0.0.1 or ::1): the server listens there, and bench resolves the same way. */
let loopback = '127.0.0.1';
let served = 0;
const connections: number[] = [];

before(async () => {
  if (SKIP !== false) return;
  // A certificate for the name "localhost" only (no IP address in it), valid for a day.
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  server = https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (req, res) => {
    served++;
    req.resume();
    req.on('end', () => res.end('hello'));
  });
  server.keepAliveTimeout = 30_000;
  server.on('secureConnection', () => connections.push(Date.now()));
  loopback = (await lookup('localhost')).address;
  await new Promise<void>((resolve) => server!.listen(0, loopback, resolve));
  port = (server.address() as net.AddressInfo).port;
});

after(async () => {
  if (server !== null) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server!.close(() => resolve()));
  }
  rmSync(dir, { recursive: true, force: true });
});

function url(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

async function bench(args: readonly string[]): Promise<{ code: number | null; r: BenchJson; stderr: string }> {
  const result = await runCli(['bench', ...args, '--json']);
  return { code: result.code, r: JSON.parse(result.stdout) as BenchJson, stderr: result.stderr };
}

test('https checks the certificate by default: a self-signed one fails every request as "tls", exit 1', { skip: SKIP }, async () => {
  const before = served;
  const { code, r } = await bench([`https://${url(loopback)}:${port}/`, '-n', '20', '-c', '2']);
  assert.equal(code, 1);
  assert.equal(r.requests, 20);
  assert.deepEqual(Object.keys(r.errors), ['tls']);
  assert.match(r.errorSamples.tls ?? '', /self[- ]signed/i);
  assert.equal(served, before, 'no request reached the server');
  assert.equal(r.settings.transport, 'tls');
});

test('--insecure accepts it: every request answered over kept-alive TLS connections', { skip: SKIP }, async () => {
  const before = served;
  const handshakes = connections.length;
  const { code, r } = await bench([`https://${url(loopback)}:${port}/`, '-n', '200', '-c', '4', '--insecure']);
  assert.equal(code, 0);
  assert.equal(r.requests, 200);
  assert.equal(r.successes, 200);
  assert.deepEqual(r.statusCodes, { '200': 200 });
  assert.equal(served - before, 200, 'the server answered exactly as many');
  assert.equal(r.connects, 4, 'one handshake per connection, then keep-alive');
  assert.equal(connections.length - handshakes, 4);
  assert.equal(r.socketsSampled, 4, 'tcp_info read from the TCP socket under each TLS one');
});

test('--ca trusts the certificate where it names the host, and a name it does not carry still fails', { skip: SKIP }, async () => {
  const ca = join(dir, 'cert.pem');
  const good = await bench([`https://localhost:${port}/`, '-n', '30', '-c', '2', '--ca', ca]);
  assert.equal(good.code, 0, JSON.stringify(good.r.errors));
  assert.equal(good.r.successes, 30);
  const wrongName = await bench([`https://${url(loopback)}:${port}/`, '-n', '5', '-c', '1', '--ca', ca]);
  assert.equal(wrongName.code, 1);
  assert.deepEqual(Object.keys(wrongName.r.errors), ['tls']);
  assert.match(wrongName.r.errorSamples.tls ?? '', /IP: .* is not in the cert's list/);
});

test('--insecure and --ca are refused for targets that are not https', async () => {
  const result = await runCli(['bench', 'http://127.0.0.1:9/', '--insecure', '-n', '1']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /--insecure and --ca are for https:\/\/ targets/);
});
