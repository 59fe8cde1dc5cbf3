/**
 * The capture mutation fuzzer: mutated copies of the fixture captures go through the reader and
 * the analyser (which must end normally or with a MalformedInputError naming the byte offset,
 * never crash or hang), and every Nth one is compared with tshark's verdicts frame by frame.
 *
 * A short run is part of the test suite (test/analyze-fuzz.test.ts); a long one is a script:
 *
 *   node dist/test/fuzz/captures.js --iterations 24000 [--seed N] [--tshark-every 20] [--save DIR]
 *
 * It prints its figures as one JSON object (iterations, malformed, crashes, hangs, slowest case,
 * tshark comparisons and disagreements by kind). Cases run in a worker thread; one that shows
 * no progress within the watchdog's time is a hang: the worker is replaced and the run goes on.
 * `--save DIR` keeps every crashing, hanging or disagreeing input for replay.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { REPO_ROOT } from '../helpers/cli.js';
import { caseRandom, mutate } from './mutate.js';
import type { CaseResult, WorkerJob } from './captures-worker.js';

export interface FuzzOptions {
  readonly iterations: number;
  readonly seed?: number;
  /** Compare every Nth case with tshark (0: never). */
  readonly tsharkEvery?: number;
  /** A case that takes longer than this is a hang. */
  readonly watchdogMs?: number;
  /** Keep failing inputs here. */
  readonly saveDir?: string;
  /** Seed captures (default: the fixtures in test/fixtures/pcap). */
  readonly seedFiles?: string[];
}

export interface FuzzFigures {
  iterations: number;
  seed: number;
  malformed: number;
  crashes: number;
  hangs: number;
  slowestMs: number;
  totalMs: number;
  tsharkCompared: number;
  tsharkNotComparable: number;
  disagreements: number;
  /** Disagreeing cases by the first differing item (reader, tcpPackets, syn, retransmission...). */
  disagreementKinds: Record<string, number>;
  /** The first few failures, with their case numbers, to replay. */
  samples: string[];
}

export function fixtureSeeds(): string[] {
  const dir = join(REPO_ROOT, 'test', 'fixtures', 'pcap');
  return readdirSync(dir).filter((f) => /\.pcap(ng)?$/.test(f)).sort().map((f) => join(dir, f));
}

export async function fuzzCaptures(o: FuzzOptions): Promise<FuzzFigures> {
  const seed = o.seed ?? 0x7cd1a9;
  const tsharkEvery = o.tsharkEvery ?? 0;
  const watchdogMs = o.watchdogMs ?? (tsharkEvery > 0 ? 30_000 : 5_000);
  const seedFiles = o.seedFiles ?? fixtureSeeds();
  const figures: FuzzFigures = {
    iterations: 0, seed, malformed: 0, crashes: 0, hangs: 0, slowestMs: 0, totalMs: 0,
    tsharkCompared: 0, tsharkNotComparable: 0, disagreements: 0, disagreementKinds: {}, samples: [],
  };
  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-fuzz-'));
  const started = performance.now();
  const keep = (index: number, what: string): void => {
    if (figures.samples.length < 20) figures.samples.push(`case ${index}: ${what.split('\n').slice(0, 3).join(' | ')}`);
    if (o.saveDir === undefined) return;
    mkdirSync(o.saveDir, { recursive: true });
    const seeds = seedFiles.map((f) => readFileSync(f));
    writeFileSync(join(o.saveDir, `case-${index}.pcap`), mutate(seeds[index % seeds.length]!, caseRandom(seed, index)));
  };
  try {
    let next = 0;
    while (next < o.iterations) {
      next = await runWorker({ seedFiles, seed, start: next, end: o.iterations, tsharkEvery, dir }, watchdogMs, (r) => {
        figures.iterations++;
        if (r.ms > figures.slowestMs) figures.slowestMs = Math.round(r.ms);
        if (r.outcome === 'malformed') figures.malformed++;
        if (r.outcome === 'crash') {
          figures.crashes++;
          keep(r.index, r.detail ?? 'crash');
        }
        if (r.disagreements !== undefined) {
          if (r.disagreements === null) figures.tsharkNotComparable++;
          else {
            figures.tsharkCompared++;
            if (r.disagreements.length > 0) {
              figures.disagreements++;
              const kind = r.disagreements[0]!.split(':')[0]!;
              figures.disagreementKinds[kind] = (figures.disagreementKinds[kind] ?? 0) + 1;
              keep(r.index, r.disagreements.join('; '));
            }
          }
        }
      }, (index) => {
        figures.iterations++;
        figures.hangs++;
        keep(index, `no result within ${watchdogMs} ms`);
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  figures.totalMs = Math.round(performance.now() - started);
  return figures;
}

/** Run cases from job.start until done or a hang; resolves with the next case to run. */
function runWorker(job: WorkerJob, watchdogMs: number, onResult: (r: CaseResult) => void, onHang: (index: number) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./captures-worker.js', import.meta.url), { workerData: job });
    let expected = job.start;
    let settled = false;
    let timer: NodeJS.Timeout;
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        onHang(expected);
        void worker.terminate().then(() => resolve(expected + 1));
      }, watchdogMs);
    };
    arm();
    worker.on('message', (r: CaseResult) => {
      onResult(r);
      expected = r.index + 1;
      arm();
    });
    worker.on('error', (error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // An exception outside a case is the harness's own bug.
      reject(error);
    });
    worker.on('exit', (code) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      if (expected >= job.end) return resolve(job.end);
      // The worker died inside a case (out of memory, a native fault): that case crashed.
      onResult({ index: expected, outcome: 'crash', ms: 0, detail: `the worker exited with code ${code} during the case` });
      resolve(expected + 1);
    });
  });
}

function numberFlag(args: string[], name: string, fallback: number): number {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(args[at + 1]);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} needs a non-negative integer, got ${args[at + 1] ?? 'nothing'}`);
  return value;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const saveAt = args.indexOf('--save');
  const figures = await fuzzCaptures({
    iterations: numberFlag(args, '--iterations', 2000),
    seed: numberFlag(args, '--seed', 0x7cd1a9),
    tsharkEvery: numberFlag(args, '--tshark-every', 20),
    ...(saveAt >= 0 && args[saveAt + 1] !== undefined ? { saveDir: args[saveAt + 1]! } : {}),
  });
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
  process.exitCode = figures.crashes + figures.hangs > 0 ? 1 : 0;
}
