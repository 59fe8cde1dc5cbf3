/**
 * The agent's cost: `tcpdiag serve` started on a free loopback port with a temp data dir, a
 * socket population held by socket-holder processes, then
 * - idle: the agent's CPU (utime + stime from /proc/PID/stat over the window, as a share of one
 *   core) and its RSS (VmRSS) at the end of the window;
 * - scrapes: GET /metrics `scrapes` times, one after another on a keep-alive connection, while
 *   the agent collects on its schedule: p50, p99 and the slowest.
 * Targets (the issue): idle with 1,000 connections under 1% of a core and 150 MB; a scrape under
 * 50 ms at p99 with 60,000 sockets. The reference is the target itself: there is no other agent
 * here to run in the same rounds.
 *
 * Usage: node dist/bench/agent.js [sockets=2000] [idleSeconds=30] [scrapes=200] [processes=1]
 * (2000 sockets are 1,000 connections, both ends held.)
 */
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startHolders } from './fixtures/holders.js';
import { launcherNodeFlags } from './fixtures/launcher-flags.js';
import { TICKS_PER_S, cpuTicks, ticksByThread } from './fixtures/proc-cpu.js';

const sockets = Number(process.argv[2] ?? 2000);
const idleSeconds = Number(process.argv[3] ?? 30);
const scrapes = Number(process.argv[4] ?? 200);
const processes = Number(process.argv[5] ?? Math.max(1, Math.ceil(sockets / 18_000)));
const CLI = join(fileURLToPath(new URL('../src/cli/launcher.cjs', import.meta.url)));

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? NaN : Number(m[1]) * 1024;
}

function get(agent: http.Agent, url: string): Promise<number> {
  const t = performance.now();
  return new Promise((resolve, reject) => {
    http.get(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - t));
    }).on('error', reject);
  });
}

const quantile = (sorted: readonly number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

async function main(): Promise<void> {
  const data = mkdtempSync(join(tmpdir(), 'tcpdiag-bench-agent-'));
  // Idle keep-alive connections (one request and answer each, then nothing): a pool that never
  // sent a byte is what a slowloris looks like, and the diagnosis would rightly escalate it.
  const holders = await startHolders(sockets, processes, { exchange: true });
  // BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=DIR" profiles the agent (NODE_OPTIONS refuses --cpu-prof).
  const nodeFlags = (process.env['BENCH_NODE_FLAGS'] ?? '').split(' ').filter((f) => f !== '');
  const serve = spawn(process.execPath, [...launcherNodeFlags(CLI), ...nodeFlags, CLI, 'serve', '--listen', '127.0.0.1:0', '--data', data], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      // BENCH_SERVE_LOG=FILE keeps the agent's stdout (--trace-gc writes there).
      const log = process.env['BENCH_SERVE_LOG'];
      createInterface({ input: serve.stdout }).on('line', (line) => {
        if (log !== undefined) appendFileSync(log, `${line}\n`);
        const m = /listening on (\S+)/.exec(line);
        if (m !== null) resolve(m[1]!);
      });
      serve.once('exit', (code) => reject(new Error(`tcpdiag serve exited ${code}`)));
    });
    // Let the first socket-table read and the worker's start-up pass before measuring.
    await new Promise((r) => setTimeout(r, 6000));
    const pid = serve.pid!;
    const before = cpuTicks(pid);
    const threadsBefore = ticksByThread(pid);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, idleSeconds * 1000));
    const cpuPercent = ((cpuTicks(pid) - before) / TICKS_PER_S) / ((performance.now() - t0) / 1000) * 100;
    const rss = rssBytes(pid);
    const threads = [...ticksByThread(pid)].map(([name, ticks]) => [name, ticks - (threadsBefore.get(name) ?? 0)] as const)
      .filter(([, ticks]) => ticks > 0).sort((a, b) => b[1] - a[1]);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const times: number[] = [];
    for (let i = 0; i < scrapes; i++) times.push(await get(agent, `${url}/metrics`));
    agent.destroy();
    times.sort((a, b) => a - b);
    const line = (label: string, value: string, target: string): void => console.log(`${label.padEnd(34)} ${value.padStart(12)}   target ${target}`);
    console.log(`tcpdiag serve with ${sockets} sockets held (${sockets / 2} connections), idle ${idleSeconds} s, ${scrapes} scrapes`);
    line('idle CPU (% of one core)', cpuPercent.toFixed(2), '< 1% (1,000 connections)');
    line('RSS (MB)', (rss / 1e6).toFixed(1), '< 150 MB');
    console.log(`  by thread (ticks of 10 ms over ${idleSeconds} s): ${threads.map(([name, ticks]) => `${name} ${ticks}`).join(', ')}`);
    line('/metrics p50 (ms)', quantile(times, 0.5).toFixed(2), '');
    line('/metrics p99 (ms)', quantile(times, 0.99).toFixed(2), '< 50 ms (60,000 sockets)');
    line('/metrics max (ms)', (times.at(-1) ?? NaN).toFixed(2), '');
  } finally {
    serve.kill('SIGTERM');
    holders.stop();
    await new Promise((r) => serve.once('exit', r));
    rmSync(data, { recursive: true, force: true });
  }
}

await main();
