/**
 * Runs fuzz cases [start, end) for test/fuzz/captures.ts in a worker thread, so the driver can
 * stop a case that hangs. Posts one message per case.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { MalformedInputError } from '../../src/errors.js';
import { PcapParser } from '../../src/sources/pcap/reader.js';
import { TcpAnalyzer } from '../../src/analysis/pcap/analyzer.js';
import { analyzeCaptureFile } from '../../src/sessions/capture-file.js';
import { FRAME_FLAGS, tsharkCounts } from '../analyze-support.js';
import { caseRandom, mutate } from './mutate.js';

export interface WorkerJob {
  seedFiles: string[];
  seed: number;
  start: number;
  end: number;
  /** Compare with tshark every this many cases (0: never). */
  tsharkEvery: number;
  /** Where compared files are written (the driver owns and removes it). */
  dir: string;
}

export interface CaseResult {
  index: number;
  outcome: 'ok' | 'malformed' | 'crash';
  ms: number;
  detail?: string;
  /** Set when tshark was asked: the differences (empty: agreed); null when not comparable. */
  disagreements?: string[] | null;
}

/** tshark's verdicts against tcpdiag's on one file; null when tcpdiag refuses the file outright. */
async function compareWithTshark(file: string): Promise<string[] | null> {
  let ours;
  try {
    ours = await analyzeCaptureFile(file, { frames: true, maxConnections: 10 });
  } catch (error: unknown) {
    if (error instanceof MalformedInputError) return null;
    throw error;
  }
  const theirs = tsharkCounts(file, { tolerateDamage: true });
  const out: string[] = [];
  if (ours.packets !== theirs.packets) {
    // The readers stopped at different places (damage tshark reads past, or the reverse):
    // what follows would compare different packets.
    out.push(`reader: packets ${ours.packets} vs tshark ${theirs.packets}`);
    return out;
  }
  if (ours.tcpPackets !== theirs.tcpPackets) out.push(`tcpPackets: ${ours.tcpPackets} vs ${theirs.tcpPackets}`);
  if (ours.summary.streams !== theirs.connections) out.push(`streams: ${ours.summary.streams} vs ${theirs.connections}`);
  for (const key of ['syn', 'synAck', 'fin', 'rst', 'icmpErrors'] as const) {
    if (ours.summary[key] !== theirs.summary[key]) out.push(`${key}: ${ours.summary[key]} vs ${theirs.summary[key]}`);
  }
  for (const [name] of FRAME_FLAGS) {
    const a = (ours.frames?.[name] ?? []).join(',');
    const z = (theirs.frames[name] ?? []).join(',');
    if (a !== z) out.push(`${name}: [${a.slice(0, 80)}] vs [${z.slice(0, 80)}]`);
  }
  return out;
}

async function runCase(seeds: Buffer[], job: WorkerJob, index: number, dir: string): Promise<CaseResult> {
  const random = caseRandom(job.seed, index);
  const input = mutate(seeds[index % seeds.length]!, random);
  const started = performance.now();
  const analyzer = new TcpAnalyzer({ maxConnections: 50 });
  const parser = new PcapParser((p) => analyzer.add(p), `case ${index}`);
  let outcome: CaseResult['outcome'] = 'ok';
  let detail: string | undefined;
  try {
    // Uneven chunks, as a pipe delivers them.
    for (let at = 0; at < input.length; ) {
      const n = 1 + Math.floor(random() * 700);
      parser.push(input.subarray(at, at + n));
      at += n;
    }
    parser.end();
  } catch (error: unknown) {
    if (error instanceof MalformedInputError) {
      outcome = 'malformed';
      if (!/byte \d+|empty input|too short/.test(error.message)) {
        outcome = 'crash';
        detail = `error without an offset: ${error.message}`;
      }
    } else {
      outcome = 'crash';
      detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    }
  }
  if (outcome !== 'crash') {
    try {
      const report = analyzer.finish({ file: null, format: null, linkTypes: [] });
      if (report.packets !== parser.packets) throw new Error(`report counts ${report.packets} packets, the reader delivered ${parser.packets}`);
      JSON.stringify(report);
    } catch (error: unknown) {
      outcome = 'crash';
      detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    }
  }
  const result: CaseResult = { index, outcome, ms: performance.now() - started };
  if (detail !== undefined) result.detail = detail;
  if (outcome !== 'crash' && job.tsharkEvery > 0 && index % job.tsharkEvery === 0) {
    const file = join(dir, `case-${index}.pcap`);
    writeFileSync(file, input);
    try {
      result.disagreements = await compareWithTshark(file);
    } catch (error: unknown) {
      result.outcome = 'crash';
      result.detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    } finally {
      rmSync(file, { force: true });
    }
  }
  return result;
}

if (parentPort !== null) {
  const job = workerData as WorkerJob;
  const seeds = job.seedFiles.map((f) => readFileSync(f));
  for (let i = job.start; i < job.end; i++) parentPort.postMessage(await runCase(seeds, job, i, job.dir));
}

export { runCase };
