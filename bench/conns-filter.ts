/**
 * A filtered socket dump costs what the matching sockets cost: on `sockets` TCP sockets held by
 * several processes, plus 100 more (50 connections to one port), the dump that keeps those
 * 100 (`state established '( sport = :P or dport = :P )'`, compiled into inet_diag bytecode
 * that the kernel runs on every socket) against the unfiltered dump. Target: the filtered
 * dump under 30% of the unfiltered one. Measured three ways, alternating within each round:
 * the source alone (in this process, tcp_info included), `tcpdiag conns --json --no-processes`
 * end to end, and ss itself with the same expression (the reference).
 *
 * Usage: node dist/bench/conns-filter.js [sockets=60000] [processes=4] [runs=7]
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { readSockets } from '../src/sources/sockets.js';
import { parseSsFilter } from '../src/model/ss-filter.js';
import type { ConnFilter } from '../src/model/conn-filter.js';

const here = dirname(fileURLToPath(import.meta.url));
const CLI = join(here, '..', 'src', 'cli', 'launcher.cjs');
const HOLDER = join(here, 'fixtures', 'socket-holder.js');

const sockets = Number(process.argv[2] ?? 60_000);
const processes = Number(process.argv[3] ?? 4);
const runs = Number(process.argv[4] ?? 7);

/** Start holders of `connections` each; resolves with their listener ports once all are ESTABLISHED. */
async function startHolders(counts: readonly number[], children: ChildProcess[]): Promise<number[]> {
  return Promise.all(
    counts.map((count) => {
      const child = spawn(process.execPath, [HOLDER, String(count)], { stdio: ['pipe', 'pipe', 'inherit'] });
      children.push(child);
      return new Promise<number>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', (line) => {
          const [word, , port] = line.split(' ');
          if (word === 'ready') resolve(Number(port));
          else reject(new Error(line));
        });
        child.once('exit', (code) => reject(new Error(`holder exited ${code}`)));
      });
    }),
  );
}

function timeCommand(file: string, args: readonly string[]): Promise<{ ms: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let bytes = 0;
    child.stdout.on('data', (d: Buffer) => (bytes += d.length));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${file} ${args.join(' ')} exited ${code}`));
      resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, bytes });
    });
  });
}

function timeSource(filter: ConnFilter): { ms: number; count: number } {
  const started = process.hrtime.bigint();
  const table = readSockets({ filter, withInfo: true, withOwners: false });
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, count: table.data.length };
}

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const children: ChildProcess[] = [];
  try {
    console.log(`building ${sockets} sockets in ${processes} processes, and 100 more on one port...`);
    const perProcess = Math.ceil(sockets / 2 / processes);
    const [port] = await startHolders([50], children);
    await startHolders(Array<number>(processes).fill(perProcess), children);
    const words = ['state', 'established', `( sport = :${port} or dport = :${port} )`];
    const parsed = parseSsFilter(words);
    const filter: ConnFilter = { states: parsed.states!, expr: parsed.expr! };

    const source = { all: [] as number[], some: [] as number[] };
    const cli = { all: [] as number[], some: [] as number[] };
    const ss = { all: [] as number[], some: [] as number[] };
    let counts = { all: 0, some: 0 };
    timeSource({}); // load the addon and warm the code paths once
    for (let i = 0; i < runs; i++) {
      const a = timeSource({});
      const b = timeSource(filter);
      counts = { all: a.count, some: b.count };
      source.all.push(a.ms);
      source.some.push(b.ms);
      cli.all.push((await timeCommand(process.execPath, [CLI, 'conns', '--json', '--no-processes'])).ms);
      cli.some.push((await timeCommand(process.execPath, [CLI, 'conns', '--json', '--no-processes', ...words])).ms);
      ss.all.push((await timeCommand('ss', ['-tanHi'])).ms);
      ss.some.push((await timeCommand('ss', ['-tanHi', ...words])).ms);
    }
    console.log(`sockets: ${counts.all} in the table, ${counts.some} kept by the filter (${words.join(' ')})`);
    const line = (name: string, r: { all: number[]; some: number[] }, target: boolean): void => {
      const ratio = median(r.some) / median(r.all);
      const verdict = target ? ` (target < 30%) ${ratio < 0.3 ? 'PASS' : 'MISS'}` : '';
      console.log(`${name.padEnd(34)} all ${median(r.all).toFixed(1).padStart(7)} ms  filtered ${median(r.some).toFixed(1).padStart(7)} ms  ${(ratio * 100).toFixed(1)}%${verdict}`);
    };
    line('source (sock_diag + tcp_info)', source, true);
    line('tcpdiag conns --json --no-processes', cli, true);
    line('ss -tanHi (reference)', ss, false);
  } finally {
    for (const c of children) c.stdin?.end();
  }
}

await main();
