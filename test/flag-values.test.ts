/**
 * Flag values through the real bin: refusals are usage errors (exit 2) that name the flag,
 * never "internal error" (exit 70); -c belongs to each command, not to a global config flag;
 * a duration past Node's 2^31 ms timer limit waits that long instead of firing at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { runCli, runCliJson } from './helpers/cli.js';
import { startCli, sleep } from './helpers/long-running.js';

function listen(server: net.Server, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve) => server.listen(0, host, () => resolve((server.address() as net.AddressInfo).port)));
}

test('server 70000 is a usage error naming the port argument, not an internal error', async () => {
  const r = await runCli(['server', '70000']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^tcpdiag: argument <port>: "70000" is out of range: a port to listen on \(0: the kernel picks\) is 0-65535 \[TCPDIAG_USAGE\]/);
  assert.doesNotMatch(r.stderr, /internal error/);
});

test('ports, PIDs and counts refuse 0x50, 1e3 and 99999999999999999999 with the flag named', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['conns', '--port', '0x50'], /^tcpdiag: --port: "0x50" is hexadecimal/],
    [['conns', '--pid', '1e3'], /^tcpdiag: --pid: "1e3" has an exponent/],
    [['trace', '-P', '99999999999999999999'], /^tcpdiag: --port: "99999999999999999999" is out of range: a TCP port is 1-65535/],
    [['capture', '-c', 'nan'], /^tcpdiag: --count: "nan" is not a number \(NaN\)/],
    [['bench', '-R', 'inf', '127.0.0.1:9'], /^tcpdiag: --rate: "inf" is infinite/],
    [['stats', '-i', '0'], /^tcpdiag: --interval: "0" is out of range: expected 10ms-10000h/],
    [['client', '127.0.0.1:9', 'x', '--mss', '40000'], /^tcpdiag: --mss: "40000" is out of range: an MSS in bytes is 88-32767/],
    [['fault', 'loss', '--port', '80', '--percent', '5', '--duration', '10001h'], /^tcpdiag: --duration: "10001h" is out of range: expected 1ms-10000h/],
  ];
  for (const [args, pattern] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern, args.join(' '));
  }
});

test('a 100 kB bad value is echoed clipped: the error stays one short line', async () => {
  // MAX_ARG_STRLEN (32 pages, include/uapi/linux/binfmts.h) caps one argument at 128 KiB.
  const r = await runCli(['conns', '--port', '9'.repeat(100_000)]);
  assert.equal(r.code, 2);
  assert.ok(r.stderr.length < 400, `stderr of ${r.stderr.length} characters`);
  assert.match(r.stderr, /\(100000 characters\)/);
  const unknown = await runCli(['conns', `--${'x'.repeat(100_000)}`]);
  assert.equal(unknown.code, 2);
  assert.ok(unknown.stderr.length < 1000, `stderr of ${unknown.stderr.length} characters`);
});

test('capture -c is a packet count, not a config file named 5', async () => {
  const r = await runCli(['capture', '-c', 'five']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^tcpdiag: --count: "five" is not a decimal integer/);
  assert.doesNotMatch(r.stderr, /config/);
});

test('bench -c 5 runs 5 connections, as wrk -c', async () => {
  const server = http.createServer((_req, res) => res.end('ok'));
  server.keepAliveTimeout = 30_000;
  const port = await listen(server);
  try {
    const report = await runCliJson<{ connects: number; requests: number; settings: { connections: number; threads: number } }>(
      ['bench', '-c', '5', '-t', '1', '-n', '50', '--json', `http://127.0.0.1:${port}/`]);
    assert.equal(report.settings.connections, 5);
    assert.equal(report.settings.threads, 1);
    assert.equal(report.connects, 5);
    assert.equal(report.requests, 50);
  } finally {
    server.close();
  }
});

test('the global config flag is --config only: -c before the command is not taken for it', async () => {
  const r = await runCli(['-c', '/nonexistent.conf', 'stats']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown option '-c'/);
});

test('a bare number is seconds for client --interval as for probe --interval', async () => {
  const help = await runCli(['client', '--help']);
  assert.match(help.stdout, /Durations: 500ms, 10s, 2m, 1h or 1h30m; a bare number is seconds\./);
  const server = net.createServer((s) => s.on('data', () => undefined));
  const port = await listen(server);
  try {
    // Two sends 0.3 s apart: a bare 0.3 is 300 ms, not 0.3 ms and not 300 s.
    const started = Date.now();
    const r = await runCli(['client', `127.0.0.1:${port}`, 'x', '--repeat', '2', '--interval', '0.3', '--wait', '0.1', '--json'], { timeoutMs: 20_000 });
    const ms = Date.now() - started;
    assert.equal(r.code, 0, r.stderr);
    const sent = r.stdout.split('\n').filter((l) => l.includes('"type":"sent"')).map((l) => Date.parse((JSON.parse(l) as { ts: string }).ts));
    assert.equal(sent.length, 2);
    const gap = (sent[1] ?? 0) - (sent[0] ?? 0);
    assert.ok(gap >= 290 && gap < 2000, `gap ${gap} ms`);
    assert.ok(ms < 10_000, `took ${ms} ms`);
  } finally {
    server.close();
  }
});

test('conns -w 9999999 draws one frame and waits, instead of redrawing 30 times a second', async () => {
  const server = net.createServer();
  const port = await listen(server);
  const run = startCli(['conns', '-w', '9999999', '--port', String(port), '--no-processes']);
  try {
    await run.waitFor(/sockets \(every 9999999s, Ctrl-C to stop\)/);
    await sleep(1500);
    const frames = run.stdout().split('\n').filter((l) => /sockets \(every 9999999s/.test(l)).length;
    assert.equal(frames, 1, `${frames} frames in 1.5 s`);
    const exit = await run.stop('SIGINT');
    assert.equal(exit.code, 0);
  } finally {
    server.close();
  }
});
