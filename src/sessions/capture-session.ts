/**
 * A live capture session: tcpdump packets -> redaction -> verdicts (the same analyser as
 * `analyze`) -> a line per packet and pcap files (one, or a rotating ring). Stops after a
 * duration, a packet count, a size, or on the caller's signal; always reports tcpdump's kernel
 * drop counters.
 */
import { SourceError } from '../errors.js';
import type { Redactor, RedactionCounts } from '../privacy/redact.js';
import { decodeFrame, newDecodedTcp } from '../analysis/pcap/decode.js';
import { FileRing } from '../sinks/pcap/file-ring.js';
import { TcpdumpCapture } from '../sources/packets.js';
import type { KernelStats, TcpdumpOptions } from '../sources/packets.js';
import { LinkType } from '../model/packet.js';
import type { RawPacket } from '../model/packet.js';
import type { DecodedTcp } from '../analysis/pcap/decode.js';
import { TcpAnalyzer } from '../analysis/pcap/analyzer.js';
import type { AnalysisSummary } from '../analysis/pcap/report-types.js';
import type { Scope } from '../platform/scope.js';

export interface LiveCaptureOptions extends TcpdumpOptions {
  readonly durationMs?: number;
  readonly maxBytes?: number;
  /** pcap file to write (with ringFiles > 0: the name pattern of the ring). */
  readonly output?: string;
  readonly ringFiles: number;
  readonly ringFileBytes: number;
  readonly redactor: Redactor | null;
  readonly signal: AbortSignal;
  /** The capture runs in a child scope of this one (tcpdump, the duration timer). */
  readonly scope: Scope;
  /** Called per packet after redaction and analysis. */
  readonly onPacket?: (packet: RawPacket<Buffer>, tcp: DecodedTcp | null, flags: number, icmp: boolean) => void;
  /** Called once tcpdump listens. */
  readonly onStarted?: (pid: number | undefined) => void;
  /** The files being written, for a caller that copies a ring's files while it runs (flush first). */
  readonly onRing?: (ring: FileRing) => void;
}

export type StopReason = 'count' | 'duration' | 'size' | 'signal' | 'tcpdump-exit';

export interface LiveCaptureResult {
  packets: number;
  bytes: number;
  files: string[];
  bytesWritten: number;
  kernel: KernelStats;
  stoppedBy: StopReason;
  redactions: RedactionCounts | null;
  tcpdumpPid: number | null;
  summary: AnalysisSummary;
}

export async function runLiveCapture(o: LiveCaptureOptions): Promise<LiveCaptureResult> {
  const ring = o.output === undefined ? null : new FileRing({ path: o.output, ringFiles: o.ringFiles, ringFileBytes: o.ringFileBytes, snaplen: o.snaplen });
  // An unwritable -w path fails now, before tcpdump starts, not after the capture.
  ring?.probe();
  if (ring !== null) o.onRing?.(ring);
  const analyzer = new TcpAnalyzer({ maxConnections: 1, ...(o.onPacket === undefined ? {} : { onVerdict: o.onPacket }) });
  const scratch = newDecodedTcp();
  let stoppedBy: StopReason | null = null;
  let capture: TcpdumpCapture | null = null;
  let bytes = 0;
  const stop = (reason: StopReason): void => {
    stoppedBy ??= reason;
    void capture?.stop();
  };

  const onPacket = (p: RawPacket<Buffer>): void => {
    if (stoppedBy === 'size') return; // past the limit: tcpdump is stopping
    bytes += p.origLen;
    // Redact before anything is shown or written: only TCP payload bytes change, in place.
    if (o.redactor !== null && decodeFrame(p.linkType, p.buf, p.offset, p.capLen, p.origLen, scratch) === 'tcp' && scratch.payloadCaptured > 0) {
      o.redactor.redact(p.buf, scratch.payloadOffset, scratch.payloadOffset + scratch.payloadCaptured);
    }
    analyzer.add(p);
    ring?.write(p.linkType, p.tsSec, p.tsNsec, p.buf, p.offset, p.capLen, p.origLen);
    if (o.maxBytes !== undefined && (ring?.bytesWritten ?? bytes) >= o.maxBytes) stop('size');
  };

  const scope = o.scope.child('capture');
  const onAbort = (): void => stop('signal');
  try {
    capture = await TcpdumpCapture.start(o, onPacket, scope);
    o.onStarted?.(capture.pid);
    if (o.durationMs !== undefined) scope.timeout(() => stop('duration'), o.durationMs);
    if (o.signal.aborted) onAbort();
    o.signal.addEventListener('abort', onAbort, { once: true });
    const { stats, error } = await capture.done;
    if (error !== null) throw error instanceof Error ? error : new SourceError('tcpdump', 'the capture stream failed');
    const report = analyzer.finish({ file: null, format: 'pcap', linkTypes: [] });
    return {
      packets: report.packets,
      bytes,
      files: ring?.files ?? [],
      bytesWritten: ring?.bytesWritten ?? 0,
      kernel: stats,
      stoppedBy: stoppedBy ?? (o.count !== undefined ? 'count' : 'tcpdump-exit'),
      redactions: o.redactor === null ? null : { ...o.redactor.counts },
      tcpdumpPid: capture.pid ?? null,
      summary: report.summary,
    };
  } finally {
    o.signal.removeEventListener('abort', onAbort);
    await scope.close();
    // Nothing matched: the file still becomes an empty capture of tcpdump's link type, as
    // tcpdump -w leaves one (tcpdump writes Linux cooked v2 on "any").
    if (capture === null) ring?.discard();
    else ring?.close(capture.streamInfo?.linkTypes[0] ?? (o.interface === 'any' ? LinkType.LINUX_SLL2 : LinkType.ETHERNET));
  }
}
