/**
 * Benchmark: `tcpdiag bench` against the reference load generators, on the same local HTTP
 * server with the same number of connections:
 *   1. keep-alive request rate vs wrk (Debian package)           target >= 0.7x
 *   2. new-connection rate vs a small C connect loop (bench/c/)  target >= 0.7x
 * The server is a small epoll HTTP responder in C (bench/c/http-responder.c) compiled here with
 * cc, so it is not the bottleneck the way a Node server would be. Rounds alternate between the
 * tools (the machine is shared and noisy) and the medians are compared.
 *
 * usage: node dist/bench/loadgen.js [--connections 10] [--seconds 5] [--rounds 3] [--threads 2]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, REPO_ROOT } from '../test/helpers/cli.js';

interface Args { connections: number; seconds: number; rounds: number; threads: number; newConnections: number }

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { connections: 10, seconds: 5, rounds: 3, threads: 2, newConnections: 4 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]?.replace(/^--/, '') ?? '';
    const value = Number(argv[i + 1]);
    if (!(key in args) || !Number.isFinite(value) || value <= 0) {
      console.error(`usage: loadgen.js [--connections N] [--seconds S] [--rounds R] [--threads T] [--newConnections N] (bad: ${argv[i]} ${argv[i + 1]})`);
      process.exit(2);
    }
    (args as unknown as Record<string, number>)[key] = value;
  }
  return args;
}

function compile(dir: string, source: string, output: string, extra: readonly string[] = []): string {
  const out = join(dir, output);
  const result = spawnSync('cc', ['-O2', '-o', out, join(REPO_ROOT, 'bench', 'c', source), ...extra], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`cc ${source} failed: ${result.stderr}`);
  return out;
}

function run(file: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`${file} ${args.join(' ')} exited ${code}: ${stderr}`))));
  });
}

async function startResponder(binary: string, dir: string): Promise<{ port: number; stop: () => void }> {
  const portFile = join(dir, 'port');
  const child = spawn(binary, [portFile], { stdio: 'ignore' });
  for (let i = 0; i < 200 && !existsSync(portFile); i++) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 20));
  const port = Number(readFileSync(portFile, 'utf8').trim());
  if (!Number.isInteger(port) || port <= 0) throw new Error('the responder did not report its port');
  return { port, stop: () => child.kill('SIGTERM') };
}

/** wrk's "Requests/sec:" line. */
async function wrkRate(port: number, a: Args): Promise<number> {
  const out = await run('wrk', ['-t', String(Math.min(2, a.connections)), '-c', String(a.connections), '-d', `${a.seconds}s`, `http://127.0.0.1:${port}/`]);
  const match = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (match === null) throw new Error(`cannot read wrk output:\n${out}`);
  return Number(match[1]);
}

async function tcpdiagRate(port: number, a: Args, extra: readonly string[], connections: number): Promise<{ rate: number; errors: number }> {
  const out = await run(process.execPath, [CLI, 'bench', `http://127.0.0.1:${port}/`, '--connections', String(connections),
    '--duration', `${a.seconds}s`, '--threads', String(Math.min(a.threads, connections)), '--json', ...extra]);
  const report = JSON.parse(out) as { requestsPerSecond: number; errors: Record<string, number> };
  return { rate: report.requestsPerSecond, errors: Object.values(report.errors).reduce((x, y) => x + y, 0) };
}

async function connectLoopRate(binary: string, port: number, a: Args): Promise<number> {
  const out = await run(binary, [String(port), String(a.newConnections), String(a.seconds)]);
  const match = /rate=([\d.]+)/.exec(out);
  if (match === null) throw new Error(`cannot read connect-loop output: ${out}`);
  return Number(match[1]);
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length === 0 ? 0 : s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-loadgen-'));
  const responder = await startResponder(compile(dir, 'http-responder.c', 'http-responder'), dir);
  const connectLoop = compile(dir, 'connect-loop.c', 'connect-loop', ['-pthread']);
  try {
    console.log(`loadgen: ${a.connections} connections (keep-alive), ${a.newConnections} (new connection), ${a.seconds} s per measurement, ${a.rounds} rounds, tcpdiag --threads ${a.threads}`);
    const wrk: number[] = [];
    const ours: number[] = [];
    let ourErrors = 0;
    // Alternate which tool goes first: the machine is shared, and TIME_WAIT sockets left by one
    // run (up to net.ipv4.tcp_max_tw_buckets) slow the next run's port search.
    for (let round = 1; round <= a.rounds; round++) {
      const measureWrk = async (): Promise<void> => void wrk.push(await wrkRate(responder.port, a));
      const measureOurs = async (): Promise<void> => {
        const r = await tcpdiagRate(responder.port, a, [], a.connections);
        ours.push(r.rate);
        ourErrors += r.errors;
      };
      if (round % 2 === 1) await measureWrk().then(measureOurs);
      else await measureOurs().then(measureWrk);
      console.log(`  round ${round} keep-alive: wrk ${fmt(wrk.at(-1) ?? 0)} req/s, tcpdiag bench ${fmt(ours.at(-1) ?? 0)} req/s`);
    }
    const cLoop: number[] = [];
    const oursNew: number[] = [];
    for (let round = 1; round <= a.rounds; round++) {
      const measureC = async (): Promise<void> => void cLoop.push(await connectLoopRate(connectLoop, responder.port, a));
      const measureOurs = async (): Promise<void> => {
        const r = await tcpdiagRate(responder.port, a, ['--new-connection'], a.newConnections);
        oursNew.push(r.rate);
        ourErrors += r.errors;
      };
      if (round % 2 === 1) await measureC().then(measureOurs);
      else await measureOurs().then(measureC);
      console.log(`  round ${round} new-connection: C connect loop ${fmt(cLoop.at(-1) ?? 0)} conn/s, tcpdiag bench --new-connection ${fmt(oursNew.at(-1) ?? 0)} conn/s`);
    }
    const keepRatio = median(ours) / median(wrk);
    const newRatio = median(oursNew) / median(cLoop);
    console.log('');
    console.log(`keep-alive request rate (median): tcpdiag ${fmt(median(ours))} req/s vs wrk ${fmt(median(wrk))} req/s = ${keepRatio.toFixed(2)}x (target >= 0.7x) ${keepRatio >= 0.7 ? 'OK' : 'BELOW TARGET'}`);
    console.log(`new-connection rate (median):     tcpdiag ${fmt(median(oursNew))} conn/s vs C loop ${fmt(median(cLoop))} conn/s = ${newRatio.toFixed(2)}x (target >= 0.7x) ${newRatio >= 0.7 ? 'OK' : 'BELOW TARGET'}`);
    if (ourErrors > 0) console.log(`note: tcpdiag counted ${ourErrors} failed requests across the runs`);
  } finally {
    responder.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
