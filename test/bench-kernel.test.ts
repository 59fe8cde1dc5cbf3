/**
 * tcpdiag bench and the kernel: --mss-sweep really sets the MSS before the SYN (the server's
 * own tcp_info shows the clamped segment size), and the retransmissions the report gives come
 * from the client sockets' tcp_info (an nftables loss rule on INPUT makes the client
 * retransmit; the kernel's global RetransSegs must have grown by at least as much).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { runCliJson } from './helpers/cli.js';
import { NftTable, nftUsable } from './helpers/nft.js';
import { tcpInfoOf } from '../src/assist/socket-options.js';
import { loadNative } from '../src/native/index.js';

interface RunJson { payloadBytes: number; mss: number | null; requests: number; successes: number }
interface BenchJson {
  requests: number;
  successes: number;
  errors: Record<string, number>;
  retransmits: number;
  socketsSampled: number;
  runs: RunJson[];
  mssSweep: Array<{ mss: number; requestsPerSecond: number; bytesPerSecond: number; relativeThroughput: number }> | null;
}

const servers: net.Server[] = [];
after(async () => {
  for (const server of servers) await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** An echo server that records the MSS its side of each accepted connection uses. */
async function echoServer(): Promise<{ port: number; mssSeen: number[] }> {
  const mssSeen: number[] = [];
  const server = net.createServer((socket) => {
    socket.pipe(socket);
    socket.once('data', () => {
      const info = tcpInfoOf(socket);
      if (info !== null) mssSeen.push(info.mss);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, mssSeen };
}

function retransSegs(): number {
  // /proc/net/snmp: a "Tcp:" header line, then a "Tcp:" values line (RetransSegs among them).
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Tcp:'));
  const names = (lines[0] ?? '').split(/\s+/);
  const values = (lines[1] ?? '').split(/\s+/);
  return Number(values[names.indexOf('RetransSegs')]);
}

test('--mss-sweep runs the same load at each MSS, and the server sees the MSS set before the SYN', async (t) => {
  if (loadNative().addon === null) return t.skip('needs the native addon (npm run install): connectWithMss');
  const srv = await echoServer();
  const r = await runCliJson<BenchJson>(['bench', `127.0.0.1:${srv.port}`, '--payload-sizes', '16k', '--mss-sweep', '536,1460',
    '--requests', '50', '--connections', '2', '--threads', '1', '--json']);
  assert.deepEqual(r.runs.map((run) => [run.mss, run.requests, run.successes]), [[536, 50, 50], [1460, 50, 50]]);
  assert.equal(r.mssSweep?.length, 2);
  assert.ok(r.mssSweep?.every((row) => row.bytesPerSecond > 0 && row.relativeThroughput > 0 && row.relativeThroughput <= 1));
  assert.ok(r.mssSweep?.some((row) => row.relativeThroughput === 1));
  // The first two connections ran at MSS 536, the next two at 1460. With TCP timestamps the
  // payload per segment is 12 bytes less (the kernel subtracts option space from mss_cache).
  assert.equal(srv.mssSeen.length, 4);
  assert.ok(srv.mssSeen.slice(0, 2).every((mss) => mss <= 536 && mss >= 500), `MSS at 536: ${srv.mssSeen.join(',')}`);
  assert.ok(srv.mssSeen.slice(2).every((mss) => mss <= 1460 && mss > 1400), `MSS at 1460: ${srv.mssSeen.join(',')}`);
});

test('retransmissions the client sockets saw come from their tcp_info', async (t) => {
  const reason = nftUsable();
  if (reason !== null) return t.skip(reason);
  if (loadNative().addon === null) return t.skip('needs the native addon (npm run install): tcp_info of own sockets');
  const srv = await echoServer();
  const table = new NftTable('bench_loss');
  // Drop 5% of the segments arriving at the server port on INPUT: the client's data is lost
  // and the client retransmits it (on OUTPUT the kernel would re-queue locally without a retransmit).
  table.create([`tcp dport ${srv.port} numgen random mod 100 < 5 drop`]);
  try {
    const before = retransSegs();
    const r = await runCliJson<BenchJson>(['bench', `127.0.0.1:${srv.port}`, '--payload-sizes', '32k', '--requests', '150',
      '--connections', '4', '--timeout', '20s', '--json'], { timeoutMs: 120_000 });
    const globalDelta = retransSegs() - before;
    assert.equal(r.requests, 150);
    assert.equal(r.successes, 150, `TCP recovers every loss: ${JSON.stringify(r.errors)}`);
    assert.equal(r.socketsSampled, 4);
    assert.ok(r.retransmits > 0, 'the client retransmitted');
    assert.ok(r.retransmits <= globalDelta, `client sockets ${r.retransmits} <= kernel RetransSegs delta ${globalDelta}`);
  } finally {
    table.delete();
  }
});

test('a port whose SYN-ACKs are dropped: every connect is a timeout, for both transports', async (t) => {
  const reason = nftUsable();
  if (reason !== null) return t.skip(reason);
  const srv = await echoServer();
  const table = new NftTable('bench_synack');
  // The listener answers the SYN, but its SYN-ACK never arrives: the client stays in SYN_SENT.
  table.create([`tcp sport ${srv.port} tcp flags & (syn | ack) == (syn | ack) drop`]);
  try {
    for (const transport of ['handle', 'net']) {
      const r = await runCliJson<BenchJson>(['bench', `127.0.0.1:${srv.port}`, '--payload', 'x', '--requests', '4', '--connections', '2',
        '--timeout', '400ms', '--transport', transport, '--max-error-rate', '100', '--json']);
      assert.equal(r.requests, 4, transport);
      assert.deepEqual(r.errors, { timeout: 4 }, transport);
    }
  } finally {
    table.delete();
  }
});
