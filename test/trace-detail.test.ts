/**
 * tcpdiag trace modes beyond the event stream: --detail (socket fields through bpftrace),
 * life (bytes per closed connection), states --stats (time in state for every socket), and a
 * connect that times out behind an nft rule dropping its SYNs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { findExecutable, hasKernelBtf, isRoot, tracefsRoot } from '../src/platform/capabilities.js';
import { NftTable, nftUsable } from './helpers/nft.js';
import { closedPort, sleep, startTrace } from './trace-support.js';

const TRACE_SKIP = isRoot() && tracefsRoot() !== null ? false : 'needs root and tracefs';
const DETAIL_SKIP = TRACE_SKIP || (findExecutable('bpftrace') === null ? 'needs bpftrace (apt-get install -y bpftrace)' : !hasKernelBtf() ? 'needs kernel BTF' : false);

type Ev = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON from the CLI

/** A server that reads everything, answers `replyBytes` and closes; the client sends `sendBytes`. */
async function exchange(sendBytes: number, replyBytes: number): Promise<{ port: number; close: () => void; run: () => Promise<number> }> {
  const server = net.createServer((c) => {
    c.on('error', () => undefined);
    c.once('data', () => c.end(Buffer.alloc(replyBytes, 120)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () => server.close(),
    run: () =>
      new Promise<number>((resolve, reject) => {
        let received = 0;
        const c = net.connect(port, '127.0.0.1', () => c.write(Buffer.alloc(sendBytes, 121)));
        c.on('data', (d) => (received += d.length));
        c.on('end', () => c.end());
        c.on('close', () => resolve(received));
        c.on('error', reject);
      }),
  };
}

test('life --detail: one close line per connection with its duration and payload bytes each way', { skip: DETAIL_SKIP, timeout: 90_000 }, async () => {
  const ex = await exchange(300, 5000);
  const trace = await startTrace(['life', '--detail', '--json', '--port', String(ex.port)], 60_000);
  let result;
  try {
    for (let i = 0; i < 3; i++) assert.equal(await ex.run(), 5000);
    await sleep(300); // bpftrace holds the newest 50 ms back to order CPUs
    result = await trace.stop();
  } finally {
    ex.close();
  }
  assert.equal(result.code, 0, result.stderr);
  const closes = result.events.filter((e) => e.type === 'close') as Ev[];
  assert.equal(closes.length, 6, JSON.stringify(result.events));
  const clients = closes.filter((c) => c.remote.port === ex.port);
  const servers = closes.filter((c) => c.local.port === ex.port);
  assert.equal(clients.length, 3);
  assert.equal(servers.length, 3);
  for (const c of clients) {
    assert.equal(c.bytesSent, 300);
    assert.equal(c.bytesReceived, 5000);
    assert.equal(c.origin, 'active');
    assert.equal(c.pid, process.pid);
    assert.ok(c.durationMs > 0);
  }
  for (const s of servers) {
    assert.equal(s.bytesSent, 5000);
    assert.equal(s.bytesReceived, 300);
    assert.equal(s.origin, 'passive');
  }
});

test('states --detail: socket fields at each transition (cwnd, windows, bytes, backlog, srtt)', { skip: DETAIL_SKIP, timeout: 90_000 }, async () => {
  const ex = await exchange(100, 100);
  const trace = await startTrace(['states', '--detail', '--json', '--port', String(ex.port)], 60_000);
  let result;
  try {
    await ex.run();
    await sleep(300);
    result = await trace.stop();
  } finally {
    ex.close();
  }
  const states = result.events.filter((e) => e.type === 'state') as Ev[];
  assert.equal(states.length, 10, JSON.stringify(result.events));
  for (const s of states) {
    for (const k of ['cwnd', 'rcvWnd', 'sndWnd', 'bytesSent', 'bytesReceived', 'bytesAcked', 'ackBacklog', 'maxAckBacklog', 'totalRetrans', 'srttUs']) {
      assert.equal(typeof s.detail[k], 'number', k);
    }
  }
  const established = states.find((s) => s.oldState === 'SYN_RECV' && s.newState === 'ESTABLISHED')!;
  assert.equal(established.detail.maxAckBacklog, 511, 'Node listens with backlog 511');
  assert.ok(states.some((s) => s.detail.srttUs > 0));
});

test('states --stats: time in state is known for sockets that changed state during the trace, and said to be unknown otherwise', { skip: TRACE_SKIP, timeout: 60_000 }, async () => {
  const server = net.createServer((c) => c.on('error', () => undefined));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const before = net.connect(port, '127.0.0.1');
  await new Promise((r) => before.on('connect', r));
  const trace = await startTrace(['states', '--stats', '--json', '--port', String(port), '--duration', '2s']);
  const during = net.connect(port, '127.0.0.1');
  await new Promise((r) => during.on('connect', r));
  const duringLocal = (during.address() as net.AddressInfo).port;
  const beforeLocal = (before.address() as net.AddressInfo).port;
  const exited = new Promise<number | null>((r) => trace.child.on('close', (c) => r(c)));
  const { events, code } = await (async () => {
    await exited;
    return trace.stop();
  })();
  before.destroy();
  during.destroy();
  server.close();
  assert.equal(code, 0);
  const report = events.find((e) => e.type === 'stats') as Ev;
  assert.ok(report, JSON.stringify(events));
  assert.ok(report.transitions['SYN_SENT->ESTABLISHED'] >= 1);
  const mine = report.sockets as Ev[];
  assert.ok(mine.every((s) => s.local.port === port || s.remote.port === port), 'the report honours --port');
  const traced = mine.find((s: Ev) => s.local.port === duringLocal);
  const old = mine.find((s: Ev) => s.local.port === beforeLocal);
  assert.ok(traced && old, JSON.stringify(mine));
  assert.equal(traced.state, 'ESTABLISHED');
  assert.equal(traced.known, 'traced');
  assert.ok(traced.inStateMs > 0 && traced.inStateMs < 10_000);
  assert.equal(old.inStateMs, null);
  assert.match(old.known, /^unknown: in ESTABLISHED since before the trace started/);
});

test('a connect whose SYNs are dropped is reported as a timeout with its SYN retransmissions', { skip: TRACE_SKIP || nftUsable() || false, timeout: 60_000 }, async () => {
  const port = await closedPort();
  const table = new NftTable('trace_syn');
  table.create([`tcp dport ${port} tcp flags syn drop`]);
  try {
    const trace = await startTrace(['connect', '--json', '--dport', String(port)]);
    const error = await new Promise<string>((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      // Give up after the first SYN retransmission (the initial RTO is 1 s, RFC 6298).
      c.setTimeout(1500, () => {
        c.destroy();
        resolve('timeout');
      });
      c.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    assert.equal(error, 'timeout');
    const { events } = await trace.stop();
    const failed = events.filter((e) => e.type === 'connect-failed') as Ev[];
    assert.equal(failed.length, 1, JSON.stringify(events));
    assert.equal(failed[0]!.reason, 'timeout');
    assert.ok(failed[0]!.synRetransmits >= 1);
    assert.ok(failed[0]!.durationMs >= 1400);
    assert.equal(failed[0]!.pid, process.pid);
  } finally {
    table.delete();
  }
});
