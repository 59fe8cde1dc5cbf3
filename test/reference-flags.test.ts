/**
 * Each command driven with its reference tool's short flags, and compared with that tool where
 * it runs here: conns/listeners with ss's -tanpH / -tlnpH against ss itself on the same
 * sockets, capture with tcpdump's -nn -i -c -s -w (the file read back by tcpdump -r), trace
 * with bcc's -p -P -L -D -t. Capture and trace need root (and take the kernel lock).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';
import { findExecutable, isRoot, tracefsRoot } from '../src/platform/capabilities.js';
import { closingServer, roundTrip, startTrace } from './trace-support.js';
import { sleep, startCli } from './helpers/long-running.js';

interface Pair {
  readonly server: net.Server;
  readonly client: net.Socket;
  readonly port: number;
  close(): void;
}

/** A listener on loopback with one connection to it: three sockets, all ours. */
async function listenerWithClient(): Promise<Pair> {
  const accepted: net.Socket[] = [];
  const server = net.createServer((s) => accepted.push(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const client = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => client.once('connect', resolve));
  // The accepted side must exist before the tables are read.
  for (let i = 0; i < 50 && accepted.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  return { server, client, port, close: () => { client.destroy(); for (const s of accepted) s.destroy(); server.close(); } };
}

/** "LOCAL REMOTE PID" per socket from ss -H -p output. */
function ssRows(args: string[], filter: string): string[] {
  const r = spawnSync('ss', [...args, filter], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n').filter((l) => l !== '').map((line) => {
    const f = line.trim().split(/\s+/);
    const pid = /pid=(\d+)/.exec(line)?.[1] ?? '-';
    return `${f[3]} ${(f[4] ?? '').replace(/:\*$/, ':0')} ${pid}`;
  }).sort();
}

/** The same from tcpdiag's text table without header (STATE RECV-Q SEND-Q LOCAL REMOTE PID/NAME ...). */
function ourRows(stdout: string): string[] {
  return stdout.trim().split('\n').filter((l) => l !== '').map((line) => {
    const f = line.trim().split(/\s+/);
    return `${f[3]} ${f[4]} ${(f[5] ?? '').split('/')[0]}`;
  }).sort();
}

test('conns -tanpH lists the sockets ss -tanpH lists, with the same owners', async () => {
  const pair = await listenerWithClient();
  try {
    const r = await runCli(['conns', '-tanpH', '--port', String(pair.port)]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /^STATE/m, '-H: no header');
    const ours = ourRows(r.stdout);
    assert.equal(ours.length, 3, r.stdout);
    assert.deepEqual(ours, ssRows(['-tanpH'], `( sport = :${pair.port} or dport = :${pair.port} )`));
    assert.ok(ours.every((row) => row.endsWith(` ${process.pid}`)), 'every socket is ours');
  } finally {
    pair.close();
  }
});

test('conns -tlnH shows only the listener, as ss -tlnH', async () => {
  const pair = await listenerWithClient();
  try {
    const r = await runCli(['conns', '-tlnpH', '--port', String(pair.port)]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(ourRows(r.stdout), ssRows(['-tlnpH'], `sport = :${pair.port}`));
    assert.match(r.stdout, /^LISTEN /);
    const all = await runCli(['conns', '-tlanH', '--port', String(pair.port), '--no-processes']);
    assert.equal(all.stdout.trim().split('\n').length, 3, '-l with -a: every state again');
  } finally {
    pair.close();
  }
});

test('conns -e adds uid, inode and cookie; -o and -i are accepted', async () => {
  const pair = await listenerWithClient();
  try {
    const r = await runCli(['conns', '-tinoe', '--port', String(pair.port)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.split('\n')[0] ?? '', /UID +INODE +COOKIE$/);
  } finally {
    pair.close();
  }
});

test('listeners -tlnpH lists the listener ss -tlnpH lists', async () => {
  const pair = await listenerWithClient();
  try {
    const r = await runCli(['listeners', '-tlnpH', '--port', String(pair.port)]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1, r.stdout);
    const [local, owner] = (lines[0] ?? '').trim().split(/\s+/);
    const ss = ssRows(['-tlnpH'], `sport = :${pair.port}`);
    assert.deepEqual([`${local} 0.0.0.0:0 ${(owner ?? '').split('/')[0]}`], ss);
  } finally {
    pair.close();
  }
});

const CAPTURE_SKIP = !isRoot() ? 'needs root (tcpdump)' : findExecutable('tcpdump') === null ? 'needs tcpdump (apt-get install -y tcpdump)' : false;

test('capture -nn -i lo -c 4 -s 128 -w FILE stops after 4 packets of 128 bytes at most, as tcpdump does', { skip: CAPTURE_SKIP }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-capture-flags-'));
  const { server, port } = await closingServer();
  try {
    const file = join(dir, 'four.pcap');
    const capture = runCli(['capture', '-nn', '-i', 'lo', '-c', '4', '-s', '128', '-w', file, '-q', 'tcp', 'port', String(port)], { timeoutMs: 30_000 });
    // tcpdump needs a moment to attach; connections until the capture has its 4 packets.
    const deadline = Date.now() + 20_000;
    let done = false;
    void capture.then(() => (done = true));
    while (!done && Date.now() < deadline) {
      await roundTrip(port).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
    }
    const r = await capture;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /stopped by count/);
    const read = spawnSync('tcpdump', ['-nn', '-r', file], { encoding: 'utf8' });
    assert.equal(read.status, 0, read.stderr);
    assert.equal(read.stdout.trim().split('\n').length, 4, read.stdout);
    // pcap file header: snaplen at byte 16 (little-endian as written here).
    assert.equal(readFileSync(file).readUInt32LE(16), 128);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

const TRACE_SKIP = isRoot() && tracefsRoot() !== null ? false : 'needs root and tracefs';

test('trace connect -p PID -D PORT -t prints bcc-style seconds since the start for our own connect', { skip: TRACE_SKIP }, async () => {
  const { server, port } = await closingServer();
  try {
    const trace = startCli(['trace', 'connect', '-p', String(process.pid), '-D', String(port), '-t', '--count', '1']);
    await trace.waitFor(/^TIME\(s\) +EVENT/m, 20_000);
    await sleep(200);
    await roundTrip(port);
    const exit = await Promise.race([new Promise<number | null>((resolve) => trace.child.once('close', (code) => resolve(code))), sleep(15_000).then(() => 'timeout' as const)]);
    if (exit === 'timeout') await trace.stop('SIGINT');
    const stdout = trace.stdout();
    assert.equal(exit, 0, `--count 1 ends the trace: ${trace.stderr()}`);
    const lines = stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /^TIME\(s\) +EVENT/);
    const event = lines.find((l) => l.includes(`:${port}`));
    assert.ok(event !== undefined, stdout);
    assert.match(event, /^\d+\.\d{6} +connect +/);
    assert.match(event, new RegExp(`\\b${process.pid}\\b`));
  } finally {
    server.close();
  }
});

test('trace life -L PORT sees the server side only; -P PORT either side', { skip: TRACE_SKIP }, async () => {
  const { server, port } = await closingServer();
  try {
    const local = await startTrace(['life', '-L', String(port), '--json']);
    const either = await startTrace(['life', '-P', String(port), '--json']);
    await roundTrip(port);
    const [l, e] = await Promise.all([local.stop(), either.stop()]);
    const closes = (events: Array<Record<string, unknown>>) => events.filter((x) => x.type === 'close');
    assert.ok(closes(l.events).length >= 1, l.stdout);
    assert.ok(closes(l.events).every((x) => (x.local as { port: number }).port === port));
    assert.ok(closes(e.events).length > closes(l.events).length, 'either end: the client side too');
  } finally {
    server.close();
  }
});
