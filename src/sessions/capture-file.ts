/**
 * Analyse a capture file end to end: stream it through the reader into the analyser, then judge
 * what it saw with the rules of `tcpdiag diagnose` (the report's findings are theirs, same ids).
 * A damaged file still yields the report of everything before the damage, with `error` saying
 * where.
 *
 * The file is read a chunk per poll and the event loop gets a turn between chunks, so an abort
 * (Ctrl-C) or anything else the process serves waits for one chunk (~10 ms of analysis), not
 * for the whole file.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { MalformedInputError } from '../errors.js';
import { openCaptureFile } from '../sources/events.js';
import { linkTypeName } from '../model/packet.js';
import type { PcapFileInfo } from '../model/packet.js';
import { TcpAnalyzer } from '../analysis/pcap/analyzer.js';
import type { AnalyzerOptions } from '../analysis/pcap/analyzer.js';
import type { AnalysisReport } from '../analysis/pcap/report-types.js';
import type { DiagnosisReport } from '../model/diagnosis.js';
import { diagnoseCapture } from '../diagnose/capture-facts.js';
import type { Thresholds } from '../diagnose/rule.js';
import { diagnoseSchema, thresholdsSchema } from '../config/schema.js';
import {
  A_ANY_RETRANSMISSION, A_DUPLICATE_ACK, A_FAST_RETRANSMISSION, A_KEEP_ALIVE, A_LOST_PACKET, A_OUT_OF_ORDER,
  A_SPURIOUS_RETRANSMISSION, A_ZERO_WINDOW, A_KEEP_ALIVE_ACK, A_WINDOW_UPDATE, A_ZERO_WINDOW_PROBE, A_ZERO_WINDOW_PROBE_ACK,
  A_ACK_LOST_PACKET,
} from '../analysis/pcap/seq-analysis.js';

/** Wireshark's display-filter names (tcp.analysis.NAME) for the verdicts `--frames` lists. */
const FRAME_VERDICTS: ReadonlyArray<[string, number]> = [
  ['retransmission', A_ANY_RETRANSMISSION],
  ['fast_retransmission', A_FAST_RETRANSMISSION],
  ['spurious_retransmission', A_SPURIOUS_RETRANSMISSION],
  ['duplicate_ack', A_DUPLICATE_ACK],
  ['zero_window', A_ZERO_WINDOW],
  ['out_of_order', A_OUT_OF_ORDER],
  ['lost_segment', A_LOST_PACKET],
  ['keep_alive', A_KEEP_ALIVE],
  ['keep_alive_ack', A_KEEP_ALIVE_ACK],
  ['window_update', A_WINDOW_UPDATE],
  ['zero_window_probe', A_ZERO_WINDOW_PROBE],
  ['zero_window_probe_ack', A_ZERO_WINDOW_PROBE_ACK],
  ['ack_lost_segment', A_ACK_LOST_PACKET],
];
/** At most this many frame numbers per verdict (the counts in `summary` are always complete). */
const MAX_FRAMES_PER_VERDICT = 100_000;

export interface AnalyzeFileOptions extends AnalyzerOptions {
  readonly signal?: AbortSignal;
  /** List the frame numbers of each verdict, to compare packet by packet with tshark. */
  readonly frames?: boolean;
  /** What the diagnosis rules compare with (tcp_diag.conf's [thresholds] and [diagnose]); defaults otherwise. */
  readonly thresholds?: Thresholds;
}

/** Bytes read between two turns of the event loop. */
const CHUNK_BYTES = 1024 * 1024;

export async function analyzeCaptureFile(path: string, options: AnalyzeFileOptions = {}): Promise<AnalysisReport> {
  return (await analyzeCapture(path, options)).report;
}

/** The analysis of a capture file and the diagnosis of it whose findings the report carries. */
export async function analyzeCapture(path: string, options: AnalyzeFileOptions = {}): Promise<{ report: AnalysisReport; diagnosis: DiagnosisReport }> {
  let frames: Record<string, number[]> | null = null;
  let analyzerOptions: AnalyzerOptions = options;
  if (options.frames === true) {
    const lists: Record<string, number[]> = Object.fromEntries(FRAME_VERDICTS.map(([name]) => [name, []]));
    frames = lists;
    analyzerOptions = {
      ...options,
      onVerdict: (p, t, flags, icmp) => {
        if (flags !== 0) {
          for (const [name, bit] of FRAME_VERDICTS) {
            const list = lists[name]!;
            if ((flags & bit) !== 0 && list.length < MAX_FRAMES_PER_VERDICT) list.push(p.index);
          }
        }
        options.onVerdict?.(p, t, flags, icmp);
      },
    };
  }
  const analyzer = new TcpAnalyzer(analyzerOptions);
  let failure: MalformedInputError | null = null;
  const source = await openCaptureFile(path, { chunkBytes: CHUNK_BYTES });
  const add = (p: Parameters<typeof analyzer.add>[0]): void => analyzer.add(p);
  try {
    while (!source.ended && options.signal?.aborted !== true) {
      source.poll(add);
      await yieldToEventLoop();
    }
  } catch (error: unknown) {
    if (!(error instanceof MalformedInputError)) throw error;
    // Not a capture at all (no pcap or pcapng header): one error, no empty report.
    if (source.info() === null) throw error;
    failure = error;
  } finally {
    await source.close();
  }
  const info: PcapFileInfo | null = source.info();
  const report = analyzer.finish({
    file: path,
    format: info?.format ?? null,
    linkTypes: (info?.linkTypes ?? []).map(linkTypeName),
  });
  if (frames !== null) report.frames = frames;
  if (failure !== null) {
    report.error = { code: failure.code, message: failure.reason, offset: failure.offset ?? null, afterPacket: analyzer.packets };
  }
  const thresholds = options.thresholds ?? { ...thresholdsSchema.parse({}), ...diagnoseSchema.parse({}) };
  const diagnosis = diagnoseCapture(analyzer.captureInputs!, report, thresholds);
  report.findings = diagnosis.findings;
  return { report, diagnosis };
}
