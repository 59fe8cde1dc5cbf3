/**
 * The stream on a real node:http server and a real bus, with real ws clients over loopback:
 * the token rule (header and subprotocol), kind filters, the bounded queue that drops the
 * oldest for a client that stops reading (and says how many), and the ping that cuts off a
 * client that no longer answers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { once } from 'node:events';
import { WebSocket } from 'ws';
import { AgentBus } from './bus.js';
import { attachStream } from './stream.js';
import type { StreamOptions } from './stream.js';
import type { StreamFrame } from '../model/stream-wire.js';
import type { SampleMessage } from '../model/stream.js';

async function start(t: { after: (fn: () => unknown) => void }, options: Omit<StreamOptions, 'bus' | 'onError'>) {
  const bus = new AgentBus();
  const server: Server = createServer((_req, res) => res.end());
  const stream = attachStream(server, { ...options, bus, onError: () => undefined });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  t.after(() => {
    stream.close();
    server.close();
  });
  return { bus, stream, url: `ws://127.0.0.1:${port}/api/v1/stream` };
}

function frames(ws: WebSocket): StreamFrame[] {
  const got: StreamFrame[] = [];
  ws.on('message', (data) => got.push(JSON.parse((data as Buffer).toString("utf8")) as StreamFrame));
  return got;
}

async function until(what: string, ms: number, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sample = (n: number, pad = ''): SampleMessage => ({ kind: 'sample', atMs: n, states: { ESTABLISHED: n }, series: { pad: pad.length } , ...(pad === '' ? {} : { pad }) });

function refusedStatus(ws: WebSocket): Promise<number> {
  return new Promise((resolve, reject) => {
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('open', () => reject(new Error('opened')));
    ws.on('error', () => undefined);
  });
}

test('the token: refused without it (401), accepted as a bearer header or as a subprotocol, never echoed', async (t) => {
  const { url } = await start(t, { token: 'sekrit-Token_1' });
  assert.equal(await refusedStatus(new WebSocket(url)), 401);
  assert.equal(await refusedStatus(new WebSocket(url, ['tcpdiag.v1', 'tcpdiag.token.wrong'])), 401);
  const byHeader = new WebSocket(url, { headers: { Authorization: 'Bearer sekrit-Token_1' } });
  await once(byHeader, 'open');
  byHeader.close();
  const byProtocol = new WebSocket(url, ['tcpdiag.v1', 'tcpdiag.token.sekrit-Token_1']);
  await once(byProtocol, 'open');
  assert.equal(byProtocol.protocol, 'tcpdiag.v1');
  byProtocol.close();
  assert.equal(await refusedStatus(new WebSocket(url.replace('/api/v1/stream', '/elsewhere'), { headers: { Authorization: 'Bearer sekrit-Token_1' } })), 404);
});

test('kinds: the query picks them, a subscribe request changes them, an unknown kind is refused', async (t) => {
  const { bus, url } = await start(t, { token: null });
  assert.equal(await refusedStatus(new WebSocket(`${url}?kinds=sample,bogus`)), 400);
  const ws = new WebSocket(`${url}?kinds=alert`);
  const got = frames(ws);
  await once(ws, 'open');
  await until('hello', 2000, () => got.length === 1);
  assert.deepEqual(got[0], { ...got[0], kind: 'hello', kinds: ['alert'] });
  bus.publish(sample(1));
  bus.publish({ kind: 'recording', atMs: 2, id: 'c1', what: 'capture', status: 'started', reason: 'test' });
  ws.send(JSON.stringify({ subscribe: ['sample'] }));
  await until('second hello', 2000, () => got.length === 2);
  bus.publish(sample(3));
  await until('the sample', 2000, () => got.length === 3);
  assert.deepEqual(got.map((f) => f.kind), ['hello', 'hello', 'sample']);
  assert.equal((got[2] as SampleMessage).atMs, 3, 'the sample published before the subscribe did not arrive');
  ws.send('{"subscribe":["nope"]}');
  const [code] = (await once(ws, 'close')) as [number];
  assert.equal(code, 1008);
});

test('a client that stops reading: the queue stays at its limit, the oldest are dropped, and the client is told how many', { timeout: 60_000 }, async (t) => {
  const LIMIT = 200;
  const { bus, stream, url } = await start(t, { token: null, queueLimit: LIMIT, maxInflight: 4 });
  const ws = new WebSocket(url);
  const got = frames(ws);
  await once(ws, 'open');
  await until('hello', 2000, () => got.length === 1);
  const socket = (ws as unknown as { _socket: Socket })._socket;
  socket.pause();
  // 1 KiB messages until the kernel's buffers and the queue are full, far beyond both.
  const pad = 'x'.repeat(1024);
  const PUBLISHED = 40_000;
  let maxQueued = 0;
  for (let i = 1; i <= PUBLISHED; i++) {
    bus.publish(sample(i, pad));
    if (i % 500 === 0) {
      maxQueued = Math.max(maxQueued, stream.stats().queued);
      await new Promise((r) => setImmediate(r));
    }
  }
  assert.ok(maxQueued <= LIMIT, `queued at most ${maxQueued}`);
  assert.ok(stream.stats().dropped > 0, 'some were dropped');
  socket.resume();
  const samples = () => got.filter((f): f is SampleMessage => f.kind === 'sample');
  const notices = () => got.filter((f) => f.kind === 'dropped');
  const droppedSum = () => notices().reduce((s, f) => s + (f.kind === 'dropped' ? f.count : 0), 0);
  await until('every message received or counted as dropped', 30_000, () => samples().length + droppedSum() === PUBLISHED);
  assert.equal(droppedSum(), stream.stats().dropped);
  const last = notices().at(-1);
  assert.ok(last !== undefined && last.kind === 'dropped' && last.total === droppedSum());
  const seen = samples().map((s) => s.atMs);
  assert.equal(seen.at(-1), PUBLISHED, 'the newest message arrives');
  assert.ok(seen.every((v, i) => i === 0 || v > seen[i - 1]!), 'in order');
  console.log(`published ${PUBLISHED}, received ${seen.length}, dropped ${droppedSum()} in ${notices().length} notices, queue peak ${maxQueued}/${LIMIT}`);
  ws.close();
});

test('keepalive: a client that answers pings stays; one that stops reading is cut off after a missed pong', async (t) => {
  const { stream, url } = await start(t, { token: null, pingIntervalMs: 100 });
  const live = new WebSocket(url);
  const stuck = new WebSocket(url);
  await Promise.all([once(live, 'open'), once(stuck, 'open')]);
  (stuck as unknown as { _socket: Socket })._socket.pause();
  await new Promise((r) => setTimeout(r, 450));
  assert.equal(stream.stats().clients, 1);
  assert.equal(live.readyState, WebSocket.OPEN);
  live.close();
  stuck.terminate();
});
