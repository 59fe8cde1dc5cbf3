/**
 * The agent under a storm of new connections: `tcpdiag serve` (as root, so its kernel event
 * collector runs) while a paced C loop (bench/c/storm.c) opens and closes RATE loopback
 * connections a second for SECONDS, and in the same run:
 * - the agent's CPU over the storm (utime + stime from /proc/PID/stat, as a share of one core):
 *   target under 25%;
 * - events lost (tcpdiag_events_lost_total over the run): target 0;
 * - GET /metrics every 50 ms on a keep-alive connection during the storm: p50, p99, slowest:
 *   target p99 under 50 ms;
 * - the opens the agent counted from events (tcpdiag_connections_opened_total) against the
 *   kernel's own ActiveOpens / PassiveOpens (/proc/net/snmp, what nstat reads) over the same
 *   window, read at quiet moments before and after (the reference: they should be equal).
 * Each run uses its own 127.x.y.z address, so TIME_WAIT sockets of one run never slow the next.
 *
 * Usage (root): node dist/bench/agent-storm.js [rate=10000] [seconds=10]
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { launcherNodeFlags } from './fixtures/launcher-flags.js';
import { TICKS_PER_S, cpuTicks } from './fixtures/proc-cpu.js';

const rate = Number(process.argv[2] ?? 10_000);
const seconds = Number(process.argv[3] ?? 10);
if (!(rate > 0 && rate <= 100_000 && seconds > 0 && seconds <= 600)) throw new Error('usage: agent-storm [rate 1-100000] [seconds 1-600]');
const HERE = fileURLToPath(new URL('.', import.meta.url));
const CLI = join(HERE, '..', 'src', 'cli', 'launcher.cjs');
const SOURCE = join(HERE, '..', '..', 'bench', 'c', 'storm.c');

function kernel(): Map<string, number> {
  const out = new Map<string, number>();
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n');
  for (let i = 0; i + 1 < lines.length; i += 2) {
    if (!lines[i]!.startsWith('Tcp:')) continue;
    const names = lines[i]!.split(/\s+/);
    const values = lines[i + 1]!.split(/\s+/);
    names.forEach((n, k) => out.set(n, Number(values[k])));
  }
  return out;
}

function get(agent: http.Agent, url: string): Promise<{ ms: number; body: string }> {
  const t = performance.now();
  return new Promise((resolve, reject) => {
    http.get(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ ms: performance.now() - t, body }));
    }).on('error', reject);
  });
}

function metric(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? NaN : Number(line.slice(series.length + 1));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;

/** Until the kernel's open counters have not moved for 1 s (bounded): a window edge both sides can agree on. */
async function quiet(): Promise<void> {
  for (let i = 0; i < 30; i++) {
    const a = kernel();
    await sleep(1000);
    const b = kernel();
    if (a.get('ActiveOpens') === b.get('ActiveOpens') && a.get('PassiveOpens') === b.get('PassiveOpens')) return;
  }
  console.error('warning: the host never went quiet for 1 s: the kernel comparison includes other traffic at the edges');
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root: the agent traces kernel events only as root');
  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-storm-'));
  const children: ChildProcess[] = [];
  try {
    const storm = join(dir, 'storm');
    const cc = spawnSync('cc', ['-O2', '-o', storm, SOURCE], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`cc failed: ${cc.stderr}`);
    const agentProc = spawn(process.execPath, [...launcherNodeFlags(CLI), CLI, 'serve', '--listen', '127.0.0.1:0', '--data', join(dir, 'data')], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(agentProc);
    let stderr = '';
    agentProc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: agentProc.stdout }).on('line', (l) => {
        const m = /listening on (http:\/\/\S+)/.exec(l);
        if (m !== null) resolve(m[1]!);
      });
      agentProc.on('exit', (code) => reject(new Error(`the agent exited (${code}): ${stderr}`)));
    });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 50; i++) {
      const h = JSON.parse((await get(agent, `${url}/api/health`)).body) as { events: { running: boolean; reason: string | null } };
      if (h.events.running) break;
      if (i === 49) throw new Error(`the event collector does not run: ${h.events.reason}`);
      await sleep(200);
    }
    const address = `127.${(process.pid >> 8) & 255}.${process.pid & 255}.${1 + (Date.now() % 250)}`;
    const port = 20000 + (process.pid % 20000);
    const loop = spawn(storm, [address, String(port), String(rate), String(seconds)], { stdio: ['pipe', 'pipe', 'inherit'] });
    children.push(loop);
    const lines = createInterface({ input: loop.stdout });
    const outputs: string[] = [];
    const ready = new Promise<void>((resolve) => lines.on('line', (l) => (l === 'ready' ? resolve() : outputs.push(l))));
    const done = new Promise<void>((resolve) => loop.on('exit', () => resolve()));
    await ready;

    await quiet();
    const k0 = kernel();
    const m0 = (await get(agent, `${url}/metrics`)).body;
    const cpu0 = cpuTicks(agentProc.pid!);
    const t0 = performance.now();
    loop.stdin.write('go\n');
    const scrapes: number[] = [];
    let storming = true;
    void done.then(() => (storming = false));
    while (storming) {
      scrapes.push((await get(agent, `${url}/metrics`)).ms);
      await sleep(50);
    }
    const stormS = (performance.now() - t0) / 1000;
    const cpuS = (cpuTicks(agentProc.pid!) - cpu0) / TICKS_PER_S;
    await quiet();
    const k1 = kernel();
    const m1 = (await get(agent, `${url}/metrics`)).body;
    const result = JSON.parse(outputs.at(-1) ?? '{}') as { connections: number; perSecond: number; errors: number };
    const d = (name: string) => k1.get(name)! - k0.get(name)!;
    const md = (series: string) => metric(m1, series) - metric(m0, series);
    const report = {
      storm: { target: rate, seconds, connections: result.connections, perSecond: result.perSecond, errors: result.errors },
      agentCpuPercentOfCore: Math.round((cpuS / stormS) * 1000) / 10,
      eventsLost: md('tcpdiag_events_lost_total'),
      scrapeMs: { n: scrapes.length, p50: percentile(scrapes, 50), p99: percentile(scrapes, 99), max: Math.max(...scrapes) },
      opens: {
        active: { events: md('tcpdiag_connections_opened_total{direction="active"}'), kernel: d('ActiveOpens') },
        passive: { events: md('tcpdiag_connections_opened_total{direction="passive"}'), kernel: d('PassiveOpens') },
      },
    };
    console.log(JSON.stringify(report));
    console.log(`storm ${result.perSecond.toFixed(0)}/s for ${stormS.toFixed(1)} s: agent ${report.agentCpuPercentOfCore}% of a core (target < 25%), ${report.eventsLost} events lost (target 0), /metrics p99 ${report.scrapeMs.p99.toFixed(1)} ms over ${scrapes.length} scrapes (target < 50 ms); opens active ${report.opens.active.events} vs kernel ${report.opens.active.kernel}, passive ${report.opens.passive.events} vs kernel ${report.opens.passive.kernel}`);
  } finally {
    // The agent removes its tracefs instance on SIGTERM: wait for it (bounded) before the temp dir goes.
    await Promise.all(children.reverse().map((c) => new Promise<void>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve();
      const timer = setTimeout(() => {
        c.kill('SIGKILL');
        resolve();
      }, 5000);
      c.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      c.kill('SIGTERM');
    })));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
