/**
 * Diagnosis benchmark: with 60,000 TCP sockets held by several processes, `tcpdiag diagnose
 * --json --duration D` must finish within its window plus 2 s (start-up, the end snapshot with
 * tcp_info and owners, every rule, the report). For scale, the same run times `ss -tinpHO`
 * (one socket read with tcp_info and owners, the reference tool's cost of a single snapshot).
 *
 * Usage: node dist/bench/diagnose.js [sockets=60000] [processes=4] [duration=5s] [runs=3]
 * (as root for kernel events, as a user sees it; hold the kernel lock on a shared machine).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const CLI = join(here, '..', 'src', 'cli', 'launcher.cjs');
const HOLDER = join(here, 'fixtures', 'socket-holder.js');

const sockets = Number(process.argv[2] ?? 60_000);
const processes = Number(process.argv[3] ?? 4);
const duration = process.argv[4] ?? '5s';
const runs = Number(process.argv[5] ?? 3);
const BUDGET_MS = 2000;

function durationMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text);
  if (!m) throw new Error(`duration ${text}: write 5s or 500ms`);
  return Number(m[1]) * (m[2] === 'ms' ? 1 : 1000);
}

interface Timed {
  readonly ms: number;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function time(file: string, args: readonly string[]): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ ms: performance.now() - start, code, stdout: Buffer.concat(out).toString('utf8'), stderr }));
  });
}

async function startHolders(): Promise<ChildProcess[]> {
  const perProcess = Math.ceil(sockets / 2 / processes);
  const children = Array.from({ length: processes }, () => spawn(process.execPath, [HOLDER, String(perProcess)], { stdio: ['pipe', 'pipe', 'inherit'] }));
  await Promise.all(children.map((child) => new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (line) => (line.startsWith('ready') ? resolve() : reject(new Error(line))));
    child.once('exit', (code) => reject(new Error(`holder exited ${code}`)));
  })));
  return children;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const windowMs = durationMs(duration);
  const holders = await startHolders();
  try {
    const walls: number[] = [];
    const ssTimes: number[] = [];
    for (let i = 0; i < runs; i++) {
      const ss = await time('ss', ['-tinpHO']);
      ssTimes.push(ss.ms);
      const run = await time(process.execPath, [CLI, 'diagnose', '--json', '--duration', duration]);
      if (run.code !== 0) throw new Error(`diagnose exited ${run.code}: ${run.stderr}`);
      const report = JSON.parse(run.stdout) as { score: number; window: { durationMs: number }; findings: Array<{ id: string }>; checked: unknown[] };
      walls.push(run.ms);
      process.stdout.write(`run ${i + 1}: diagnose ${Math.round(run.ms)} ms for a ${report.window.durationMs} ms window (over by ${Math.round(run.ms - windowMs)} ms), ` +
        `${report.checked.length} rules, findings [${report.findings.map((f) => f.id).join(', ')}]; ss -tinpHO ${Math.round(ss.ms)} ms\n`);
    }
    const over = median(walls) - windowMs;
    process.stdout.write(`\n${sockets} sockets in ${processes} processes, window ${duration}: diagnose median ${Math.round(median(walls))} ms, ` +
      `over the window by ${Math.round(over)} ms (budget ${BUDGET_MS} ms: ${over <= BUDGET_MS ? 'PASS' : 'FAIL'}); ` +
      `ss -tinpHO median ${Math.round(median(ssTimes))} ms (ratio of the overhead to one ss snapshot: ${(over / median(ssTimes)).toFixed(2)}x)\n`);
  } finally {
    for (const h of holders) h.stdin?.end();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench/diagnose: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
