/**
 * What `trace -N NS` costs: the tracepoints carry no namespace field, so --netns reads events
 * through bpftrace, which tests each socket's namespace in the kernel, instead of tracefs.
 * `connections` loopback connections are made inside a namespace this benchmark creates and
 * removes; each is traced by `tcpdiag trace states --json` (tracefs, every namespace) and by
 * `tcpdiag trace states --json -N NS` (bpftrace, that namespace only). Printed: events, lost
 * events, and the CPU seconds of tcpdiag plus its bpftrace child, per run, and the ratio.
 *
 * Usage (root): node dist/bench/trace-netns.js [connections=20000] [runs=3]
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cpuSeconds } from './fixtures/proc-cpu.js';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const CLI = join(here, '..', 'src', 'cli', 'launcher.cjs');
const connections = Number(process.argv[2] ?? 20_000);
const runs = Number(process.argv[3] ?? 3);
const NS = `tcpdiag-bench-netns-${process.pid}`;
/** A process's CPU seconds; 0 once it has exited. */
function cpuSecondsOrZero(pid: number): number {
  try {
    return cpuSeconds(pid);
  } catch {
    return 0;
  }
}

/** The process and its descendants (bpftrace is tcpdiag's child). */
function treeCpu(pid: number): number {
  let total = cpuSecondsOrZero(pid);
  for (const task of safeReaddir(`/proc/${pid}/task`)) {
    for (const child of readFileSafe(`/proc/${pid}/task/${task}/children`).split(' ').filter((c) => c !== '')) total += treeCpu(Number(child));
  }
  return total;
}

const safeReaddir = (p: string): string[] => {
  try {
    return readdirSync(p);
  } catch {
    return [];
  }
};
const readFileSafe = (p: string): string => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
};

function ip(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
}

const LOOP = `
import socket, sys
n = int(sys.argv[1])
s = socket.socket(); s.bind(("127.0.0.1", 47100)); s.listen(512)
for i in range(n):
    c = socket.create_connection(("127.0.0.1", 47100)); a, _ = s.accept(); c.close(); a.close()
`;

interface Run { events: number; lost: number; cpu: number }

async function traced(args: string[]): Promise<Run> {
  const child: ChildProcess = spawn(process.execPath, [CLI, 'trace', 'states', '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let lines = 0;
  let lost = 0;
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    const parts = (partial + d).split('\n');
    partial = parts.pop() ?? '';
    for (const l of parts) {
      if (l.includes('"type":"lost"')) lost += Number(/"count":(\d+)/.exec(l)?.[1] ?? 0);
      else if (l !== '') lines++;
    }
  });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (stderr.includes('Ctrl-C to stop')) resolve();
    });
    child.once('exit', () => reject(new Error(`trace exited: ${stderr}`)));
  });
  const before = treeCpu(child.pid!);
  const loop = spawnSync('ip', ['netns', 'exec', NS, 'python3', '-c', LOOP, String(connections)], { encoding: 'utf8' });
  if (loop.status !== 0) throw new Error(loop.stderr);
  await new Promise((r) => setTimeout(r, 1500)); // let the last poll read everything
  const cpu = treeCpu(child.pid!) - before;
  child.kill('SIGINT');
  await new Promise((r) => child.once('close', r));
  return { events: lines, lost, cpu };
}

async function main(): Promise<void> {
  ip(['netns', 'add', NS]);
  try {
    ip(['-n', NS, 'link', 'set', 'lo', 'up']);
    const tracefs: Run[] = [];
    const bpf: Run[] = [];
    for (let i = 0; i < runs; i++) {
      tracefs.push(await traced([]));
      bpf.push(await traced(['-N', NS]));
    }
    const show = (name: string, r: Run[]): void =>
      console.log(`${name.padEnd(36)} ${r.map((x) => `${x.events} events, ${x.lost} lost, ${x.cpu.toFixed(2)} s CPU`).join(' | ')}`);
    console.log(`${connections} connections inside ${NS}, ${runs} alternating runs (5 transitions per socket, 10 per connection)`);
    show('trace states (tracefs, every ns)', tracefs);
    show(`trace states -N (bpftrace, one ns)`, bpf);
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(`CPU ratio -N / tracefs: ${(median(bpf.map((r) => r.cpu)) / Math.max(0.01, median(tracefs.map((r) => r.cpu)))).toFixed(2)}x`);
  } finally {
    spawnSync('ip', ['netns', 'delete', NS]);
  }
}

await main();
