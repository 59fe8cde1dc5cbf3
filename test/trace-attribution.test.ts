/**
 * Who owns the socket of each trace event, and how long a socket has been in its state, where
 * the kernel runs the event in softirq (the task on the CPU is whoever was interrupted) or hands
 * the socket over to a TIME_WAIT mini-socket. One regression test per bug found by a user.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import net from 'node:net';
import { findExecutable, hasKernelBtf, isRoot, tracefsRoot } from '../src/platform/capabilities.js';
import { NftTable, nftUsable } from './helpers/nft.js';
import { sleep, startTrace } from './trace-support.js';

const TRACE_SKIP = isRoot() && tracefsRoot() !== null ? false : 'needs root and tracefs';
const DETAIL_SKIP = TRACE_SKIP || (findExecutable('bpftrace') === null ? 'needs bpftrace (apt-get install -y bpftrace)' : !hasKernelBtf() ? 'needs kernel BTF' : false);

type Ev = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON from the CLI

/**
 * A client in its own process (so its pid is neither ours nor the server's): connects, prints
 * "connected LOCALPORT", then on "close" from stdin closes (not before, even after the peer's
 * FIN); on "send N" writes N blocks of 1000 bytes 100 ms apart. Exits once the socket is closed.
 */
const CLIENT = `
const net = require('net');
const c = net.connect({ port: Number(process.env.PORT), host: '127.0.0.1', allowHalfOpen: true }, () => console.log('connected ' + c.localPort));
c.on('data', () => {});
c.on('error', () => {});
c.on('close', () => process.exit(0));
c.on('end', () => {});
let buf = '';
process.stdin.setEncoding('utf8').on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\\n')) >= 0) {
    const [cmd, arg] = buf.slice(0, i).split(' ');
    buf = buf.slice(i + 1);
    if (cmd === 'close') c.end();
    if (cmd === 'send') { let n = Number(arg); const t = setInterval(() => { c.write(Buffer.alloc(1000, 97)); if (--n === 0) clearInterval(t); }, 100); }
  }
});
setTimeout(() => process.exit(1), 30000).unref();
`;

interface Client {
  readonly child: ChildProcessWithoutNullStreams;
  readonly localPort: number;
  readonly exited: Promise<void>;
  send(line: string): void;
}

async function startClient(port: number): Promise<Client> {
  const child = spawn(process.execPath, ['-e', CLIENT], { env: { ...process.env, PORT: String(port) } });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const localPort = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /connected (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('close', (code) => reject(new Error(`client exited ${code} before connecting`)));
  });
  return { child, localPort, exited, send: (line) => child.stdin.write(`${line}\n`) };
}

/** A server that accepts, reads, and keeps each connection until told (even after the peer's FIN). */
async function holdingServer(): Promise<{ server: net.Server; port: number; accepted: Promise<net.Socket> }> {
  let onAccept: (s: net.Socket) => void = () => undefined;
  const accepted = new Promise<net.Socket>((r) => (onAccept = r));
  const server = net.createServer({ allowHalfOpen: true }, (c) => {
    c.on('error', () => undefined);
    c.on('data', () => undefined);
    onAccept(c);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as net.AddressInfo).port, accepted };
}

test('trace --detail names the client\'s own socket in softirq context, not the server or swapper (as plain trace does)', { skip: DETAIL_SKIP, timeout: 90_000 }, async () => {
  const { server, port, accepted } = await holdingServer();
  const client = await startClient(port);
  const serverSide = await accepted;
  // Opened before the traces: their first event for the client's socket is the server's FIN
  // arriving, in softirq, while our (the server's) process or an idle CPU is on the CPU.
  const plain = await startTrace(['states', '--json', '--port', String(port)]);
  const detail = await startTrace(['states', '--detail', '--json', '--port', String(port)], 60_000);
  let results;
  try {
    serverSide.end();
    await sleep(500);
    client.send('close');
    await client.exited;
    await sleep(300); // bpftrace holds the newest 50 ms back to order CPUs
    results = await Promise.all([plain.stop(), detail.stop()]);
  } finally {
    server.close();
    client.child.kill();
  }
  for (const [name, result] of [['plain', results[0]], ['--detail', results[1]]] as const) {
    assert.equal(result.code, 0, result.stderr);
    const states = result.events.filter((e) => e.type === 'state') as Ev[];
    const ofClient = states.filter((e) => e.local.port === client.localPort);
    assert.deepEqual(ofClient.map((e) => `${e.oldState}->${e.newState}`), ['ESTABLISHED->CLOSE_WAIT', 'CLOSE_WAIT->LAST_ACK', 'LAST_ACK->CLOSE'], `${name}: ${JSON.stringify(states)}`);
    for (const e of ofClient) assert.equal(e.pid, client.child.pid, `${name}: ${e.oldState}->${e.newState} of the client's socket is the client's: ${JSON.stringify(e)}`);
    const ofServer = states.filter((e) => e.local.port === port && e.remote.port === client.localPort);
    assert.ok(ofServer.length >= 2, `${name}: ${JSON.stringify(states)}`);
    for (const e of ofServer) assert.equal(e.pid, process.pid, `${name}: ${e.oldState}->${e.newState} of the server's socket is ours: ${JSON.stringify(e)}`);
  }
});

test('retransmit events carry the owner the socket table knows, for a connection opened before the trace', { skip: TRACE_SKIP || nftUsable() || false, timeout: 60_000 }, async () => {
  const { server, port, accepted } = await holdingServer();
  const client = await startClient(port);
  const serverSide = await accepted;
  const nft = new NftTable('retrans_owner');
  let result;
  try {
    // The client's 1000-byte segments are dropped on arrival: each is retransmitted from the
    // RTO timer (softirq), where the task on the CPU is not the client.
    nft.create([`tcp dport ${port} ip length > 500 drop`]);
    const trace = await startTrace(['retrans', '--json', '--port', String(port)]);
    try {
      client.send('send 3');
      await sleep(1500);
    } finally {
      nft.delete();
    }
    client.send('close');
    serverSide.end();
    await client.exited;
    result = await trace.stop();
  } finally {
    nft.delete();
    server.close();
    client.child.kill();
  }
  assert.equal(result.code, 0, result.stderr);
  const retrans = result.events.filter((e) => e.type === 'retransmit') as Ev[];
  assert.ok(retrans.length >= 2, JSON.stringify(result.events));
  for (const e of retrans) {
    assert.equal(e.local.port, client.localPort);
    assert.equal(e.kind, 'data');
    assert.equal(e.failed, false);
    assert.equal(e.pid, client.child.pid, JSON.stringify(e));
    assert.equal(e.process, 'node');
  }
});

test('states --stats: a FIN_WAIT2 socket whose transition was traced is not "since before the trace started"', { skip: TRACE_SKIP, timeout: 60_000 }, async () => {
  const { server, port, accepted } = await holdingServer();
  const trace = await startTrace(['states', '--stats', '--json', '--port', String(port), '--duration', '2s']);
  // We close first and the server never does: our socket goes FIN_WAIT1 -> FIN_WAIT2, and as
  // nobody holds it any more the kernel hands it to a TIME_WAIT mini-socket in substate
  // FIN_WAIT2 (the full socket goes to CLOSE), which the socket table lists as FIN_WAIT2.
  const c = net.connect(port, '127.0.0.1');
  await new Promise((r) => c.on('connect', r));
  const localPort = c.localPort!;
  await accepted;
  const closedAtMs = Date.now();
  c.destroy();
  const result = await trace.stop();
  server.close();
  assert.equal(result.code, 0, result.stderr);
  const report = result.events.find((e) => e.type === 'stats') as Ev;
  assert.ok(report, result.stdout);
  assert.ok((report.transitions['FIN_WAIT1->FIN_WAIT2'] ?? 0) >= 1, JSON.stringify(report.transitions));
  const row = (report.sockets as Ev[]).find((s) => s.local.port === localPort);
  assert.ok(row, JSON.stringify(report.sockets));
  assert.equal(row.state, 'FIN_WAIT2');
  assert.equal(row.known, 'traced', JSON.stringify(row));
  assert.ok(row.inStateMs >= 0 && row.inStateMs <= Date.now() - closedAtMs + 50, JSON.stringify(row));
});
