/**
 * The longest event-loop stall while one process collects the full socket table (tcp_info and
 * owners) of a large host, on the main thread and in the collection worker
 * (`socketSource({ offThread: true })`), while the same process serves HTTP on loopback to a
 * client process that asks every 5 ms. Prints per mode: collection time, the longest gap
 * between 1 ms timer ticks (the stall), and the slowest HTTP answer the client saw.
 *
 * Usage: node dist/bench/stall.js [sockets=60000] [processes=4] [runs=3]
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { socketSource } from '../src/sources/index.js';
import { startHolders } from './fixtures/holders.js';

const sockets = Number(process.argv[2] ?? 60_000);
const processes = Number(process.argv[3] ?? 4);
const runs = Number(process.argv[4] ?? 3);

/** The client: GET / every 5 ms until its stdin closes (at most 60 s, 12,000 requests); prints the slowest answer in ms. */
const CLIENT = `
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
let worst = 0, n = 0, stop = false;
const until = Date.now() + 60000;
process.stdin.on('end', () => { stop = true; }).resume();
(function ask() {
  if (stop || n >= 12000 || Date.now() > until) { process.stdout.write(String(worst)); agent.destroy(); return; }
  const t = performance.now(); n++;
  http.get({ host: '127.0.0.1', port: Number(process.argv[1]), agent }, (res) => {
    res.resume();
    res.on('end', () => { worst = Math.max(worst, performance.now() - t); setTimeout(ask, 5); });
  }).on('error', () => setTimeout(ask, 5));
})();
`;

interface Round {
  readonly collectMs: number;
  readonly stallMs: number;
  readonly httpMs: number;
  readonly sockets: number;
}

async function round(offThread: boolean, port: number): Promise<Round> {
  const client = spawn(process.execPath, ['-e', CLIENT, String(port)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let worst = '';
  client.stdout.setEncoding('utf8').on('data', (d: string) => (worst += d));
  const clientDone = new Promise<void>((resolve) => client.on('close', () => resolve()));
  await new Promise((r) => setTimeout(r, 300)); // the client is asking
  let stallMs = 0;
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last);
    last = now;
  }, 1);
  await new Promise((r) => setTimeout(r, 50));
  stallMs = 0;
  const started = performance.now();
  const snapshot = await socketSource({ offThread }).collect(new AbortController().signal, { withInfo: true, withOwners: true });
  const collectMs = performance.now() - started;
  await new Promise((r) => setTimeout(r, 50));
  clearInterval(ticker);
  client.stdin.end();
  await clientDone;
  return { collectMs, stallMs, httpMs: Number(worst), sockets: snapshot.data.length };
}

async function main(): Promise<void> {
  console.log(`building ${sockets} sockets in ${processes} processes...`);
  const holders = await startHolders(sockets, processes);
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  try {
    await round(true, port); // starts the worker and warms both paths
    const results: Record<'main thread' | 'worker', Round[]> = { 'main thread': [], worker: [] };
    for (let i = 0; i < runs; i++) {
      results['main thread'].push(await round(false, port));
      results.worker.push(await round(true, port));
    }
    const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    for (const [mode, list] of Object.entries(results)) {
      console.log(
        `${mode.padEnd(12)} ${list[0]!.sockets} sockets: collect median ${median(list.map((r) => r.collectMs)).toFixed(0)} ms, ` +
          `longest event-loop stall median ${median(list.map((r) => r.stallMs)).toFixed(1)} ms (max ${Math.max(...list.map((r) => r.stallMs)).toFixed(1)}), ` +
          `slowest HTTP answer median ${median(list.map((r) => r.httpMs)).toFixed(1)} ms`,
      );
    }
  } finally {
    server.close();
    holders.stop();
  }
}

await main();
