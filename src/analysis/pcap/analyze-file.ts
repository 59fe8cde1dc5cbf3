/**
 * Analyse a capture file end to end: stream it through the reader into the analyser. A damaged
 * file still yields the report of everything before the damage, with `error` saying where.
 */
import { MalformedInputError } from '../../errors.js';
import { readPcapFile } from '../../sources/pcap/reader.js';
import { linkTypeName } from '../../sources/pcap/types.js';
import type { PcapFileInfo } from '../../sources/pcap/types.js';
import { TcpAnalyzer } from './analyzer.js';
import type { AnalyzerOptions } from './analyzer.js';
import type { AnalysisReport } from './report-types.js';

export function analyzeCaptureFile(path: string, options: AnalyzerOptions & { signal?: AbortSignal } = {}): AnalysisReport {
  const analyzer = new TcpAnalyzer(options);
  let info: PcapFileInfo | null = null;
  let failure: MalformedInputError | null = null;
  try {
    info = readPcapFile(path, (p) => analyzer.add(p), options.signal === undefined ? {} : { signal: options.signal });
  } catch (error: unknown) {
    if (!(error instanceof MalformedInputError)) throw error;
    failure = error;
  }
  const report = analyzer.finish({
    file: path,
    format: info?.format ?? null,
    linkTypes: (info?.linkTypes ?? []).map(linkTypeName),
  });
  if (failure !== null) {
    report.error = { code: failure.code, message: failure.message, offset: failure.offset ?? null, afterPacket: analyzer.packets };
  }
  return report;
}
