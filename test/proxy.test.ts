/**
 * tcpdiag proxy end to end: bytes pass unchanged, each toxic does what it says per direction,
 * toxics change while the proxy runs (HTTP control API and stdin), and the latency it adds
 * shows in tcpdiag probe's timings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { runCli } from './helpers/cli.js';
import { startCli, sleep } from './helpers/long-running.js';
import type { LongRunning } from './helpers/long-running.js';

interface Upstream {
  readonly port: number;
  readonly received: () => Buffer;
  close(): Promise<void>;
}

async function echoServer(): Promise<Upstream> {
  const chunks: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      s.write(d);
    });
    s.on('end', () => s.end());
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    received: () => Buffer.concat(chunks),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function startProxy(upstreamPort: number, args: string[] = []): Promise<{ proxy: LongRunning; port: number; control: string }> {
  const proxy = startCli(['proxy', '--listen', '127.0.0.1:0', '--upstream', `127.0.0.1:${upstreamPort}`, ...args]);
  const port = Number((await proxy.waitFor(/^listening on 127\.0\.0\.1:(\d+)$/m))[1]);
  const control = (await proxy.waitFor(/^control (http:\/\/\S+)/m))[1] ?? '';
  return { proxy, port, control };
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', noDelay: true, allowHalfOpen: true });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Send `data`, half-close, and collect everything until the peer closes. */
function roundTrip(port: number, data: Buffer, timeoutMs = 10_000): Promise<{ reply: Buffer; ms: number; firstByteMs: number | null; error: string | null }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let firstByteMs: number | null = null;
    const chunks: Buffer[] = [];
    const s = net.connect({ port, host: '127.0.0.1', noDelay: true, allowHalfOpen: true });
    const timer = setTimeout(() => reject(new Error('round trip timed out')), timeoutMs);
    let error: string | null = null;
    s.on('data', (d: Buffer) => {
      firstByteMs ??= performance.now() - started;
      chunks.push(d);
    });
    s.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? 'error'));
    s.on('end', () => s.end());
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ reply: Buffer.concat(chunks), ms: performance.now() - started, firstByteMs, error });
    });
    s.on('connect', () => s.end(data));
  });
}

async function control(url: string, method: string, path: string, body?: string): Promise<{ status: number; json: { ok?: boolean; toxics?: Array<Record<string, unknown>> } }> {
  const response = await fetch(`${url}${path}`, { method, ...(body === undefined ? {} : { body }) });
  return { status: response.status, json: (await response.json()) as { ok?: boolean; toxics?: Array<Record<string, unknown>> } };
}

interface ProbeReport {
  attempts: Array<{ steps: Array<{ name: string; ok: boolean; ms: number; detail: Record<string, unknown> }> }>;
  summary: { steps: Record<string, { p50Ms: number; minMs: number }> };
}

async function probeHttp(port: number, count = 3): Promise<ProbeReport> {
  const result = await runCli(['probe', `http://127.0.0.1:${port}/`, '--count', String(count), '--interval', '20ms', '--json'], { timeoutMs: 30_000 });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  return JSON.parse(result.stdout) as ProbeReport;
}

test('without toxics the proxy passes 1 MiB both ways unchanged', async () => {
  const upstream = await echoServer();
  const { proxy, port } = await startProxy(upstream.port);
  try {
    const data = randomBytes(1 << 20);
    const { reply, error } = await roundTrip(port, data);
    assert.equal(error, null);
    assert.ok(reply.equals(data), `reply ${reply.length} bytes differs`);
    assert.ok(upstream.received().equals(data));
    await proxy.waitFor(/#1 closed: up 1048576 B, down 1048576 B/);
  } finally {
    await proxy.stop();
    await upstream.close();
  }
});

test("the proxy's latency shows in probe's HTTP timings and can be removed live", async () => {
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const httpPort = (server.address() as net.AddressInfo).port;
  const { proxy, port, control: url } = await startProxy(httpPort, ['--toxic', 'down:latency=150ms']);
  try {
    const direct = await probeHttp(httpPort);
    const slowed = await probeHttp(port);
    const directP50 = direct.summary.steps.http?.p50Ms ?? NaN;
    const slowedMin = slowed.summary.steps.http?.minMs ?? NaN;
    assert.ok(directP50 < 100, `direct HTTP p50 ${directP50} ms`);
    assert.ok(slowedMin >= 145 && slowedMin < 1000, `through the proxy: HTTP min ${slowedMin} ms`);
    // Add 100 ms upstream as well, live: the request now waits both ways.
    const added = await control(url, 'POST', '/toxics', 'up:latency=100ms');
    assert.equal(added.status, 200);
    assert.equal(added.json.toxics?.length, 2);
    const both = await probeHttp(port, 2);
    assert.ok((both.summary.steps.http?.minMs ?? 0) >= 245, `both directions: ${both.summary.steps.http?.minMs} ms`);
    // Remove everything: back to loopback speed.
    assert.equal((await control(url, 'DELETE', '/toxics')).json.toxics?.length, 0);
    const cleared = await probeHttp(port);
    assert.ok((cleared.summary.steps.http?.p50Ms ?? Infinity) < 100, `cleared: ${cleared.summary.steps.http?.p50Ms} ms`);
  } finally {
    await proxy.stop();
    server.close();
  }
});

test('latency with jitter stays within latency +- jitter and keeps byte order', async () => {
  const upstream = await echoServer();
  const { proxy, port } = await startProxy(upstream.port, ['--toxic', 'up:latency=100ms,jitter=50ms']);
  try {
    const socket = await connect(port);
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    const sent: Buffer[] = [];
    for (let i = 0; i < 20; i++) {
      const b = Buffer.from(`${String(i).padStart(3, '0')};`);
      sent.push(b);
      socket.write(b);
      await sleep(5);
    }
    const started = performance.now();
    await new Promise<void>((resolve) => {
      const check = (): void => (Buffer.concat(chunks).length >= 80 ? resolve() : void setTimeout(check, 10));
      check();
    });
    assert.equal(Buffer.concat(chunks).toString(), Buffer.concat(sent).toString(), 'order kept');
    assert.ok(performance.now() - started < 1000);
    const single = performance.now();
    chunks.length = 0;
    socket.write('x');
    await new Promise<void>((resolve) => socket.once('data', () => resolve()));
    const ms = performance.now() - single;
    assert.ok(ms >= 45 && ms <= 250, `one chunk took ${ms} ms`);
    socket.destroy();
  } finally {
    await proxy.stop();
    await upstream.close();
  }
});

test('bandwidth limits the downstream rate', async () => {
  const upstream = await echoServer();
  const { proxy, port } = await startProxy(upstream.port, ['--toxic', 'down:bandwidth=200k']);
  try {
    const data = randomBytes(200 * 1024);
    const { reply, ms } = await roundTrip(port, data);
    assert.ok(reply.equals(data));
    // 200 KiB at 200 KiB/s: about one second (the first slice goes at once).
    assert.ok(ms >= 850 && ms < 4000, `took ${ms} ms`);
  } finally {
    await proxy.stop();
    await upstream.close();
  }
});

test('reset-after sends RST to both sides after N bytes upstream', async () => {
  const upstream = await echoServer();
  const { proxy, port } = await startProxy(upstream.port, ['--toxic', 'up:reset-after=100']);
  try {
    const socket = await connect(port);
    const error = await new Promise<string>((resolve) => {
      socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      socket.on('close', () => resolve('closed without error'));
      socket.write(Buffer.alloc(1000, 0x41));
    });
    assert.equal(error, 'ECONNRESET');
    await sleep(100);
    assert.equal(upstream.received().length, 100, 'exactly 100 bytes reached the server');
    await proxy.waitFor(/reset-after upstream: 100 bytes forwarded/);
  } finally {
    await proxy.stop();
    await upstream.close();
  }
});

test('timeout stops forwarding and closes after the delay', async () => {
  const upstream = await echoServer();
  const { proxy, port } = await startProxy(upstream.port, ['--toxic', 'down:timeout=500ms']);
  try {
    const started = performance.now();
    const { reply, ms } = await roundTrip(port, Buffer.from('hello'));
    assert.equal(reply.length, 0, 'no byte came back');
    assert.equal(upstream.received().toString(), 'hello', 'upstream direction still flows');
    assert.ok(ms >= 450 && performance.now() - started < 3000, `closed after ${ms} ms`);
  } finally {
    await proxy.stop();
    await upstream.close();
  }
});

test('slow-close delays the FIN but not the data', async () => {
  const upstream = await echoServer();
  const { proxy, port } = await startProxy(upstream.port, ['--toxic', 'down:slow-close=600ms']);
  try {
    const { reply, ms, firstByteMs } = await roundTrip(port, Buffer.from('bye'));
    assert.equal(reply.toString(), 'bye');
    assert.ok(firstByteMs !== null && firstByteMs < 200, `data after ${firstByteMs} ms`);
    assert.ok(ms >= 580, `FIN after ${ms} ms`);
  } finally {
    await proxy.stop();
    await upstream.close();
  }
});

test('toxics can be changed through stdin commands', async () => {
  const upstream = await echoServer();
  const proxy = startCli(['proxy', '--listen', '127.0.0.1:0', '--upstream', `127.0.0.1:${upstream.port}`, '--control', 'off']);
  try {
    const port = Number((await proxy.waitFor(/^listening on 127\.0\.0\.1:(\d+)$/m))[1]);
    proxy.child.stdin.write('add down:latency=200ms\n');
    await proxy.waitFor(/toxics: downstream:latency 200 ms/);
    const slow = await roundTrip(port, Buffer.from('a'));
    assert.ok((slow.firstByteMs ?? 0) >= 190, `first byte after ${slow.firstByteMs} ms`);
    proxy.child.stdin.write('bogus\nremove latency\n');
    await proxy.waitFor(/error: unknown command "bogus"/);
    await proxy.waitFor(/toxics: none/);
    const fast = await roundTrip(port, Buffer.from('a'));
    assert.ok((fast.firstByteMs ?? Infinity) < 150, `first byte after ${fast.firstByteMs} ms`);
  } finally {
    await proxy.stop();
    await upstream.close();
  }
});

test('an unreachable upstream resets the client, and bad toxic specs are usage errors', async () => {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const closed = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  const { proxy, port } = await startProxy(closed);
  try {
    const { error } = await roundTrip(port, Buffer.from('x'));
    assert.equal(error, 'ECONNRESET');
    await proxy.waitFor(/cannot reach 127\.0\.0\.1:\d+: connection refused \(ECONNREFUSED\); client reset/);
  } finally {
    await proxy.stop();
  }
  const bad = await runCli(['proxy', '--listen', '127.0.0.1:0', '--upstream', '127.0.0.1:1', '--toxic', 'latency=fast']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /latency: "fast" is not a duration/);
});
