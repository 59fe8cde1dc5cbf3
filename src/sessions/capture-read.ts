/**
 * `capture -r`: read a capture (a file, or a stream such as `tcpdump -w -` on stdin) through the
 * same analyser as `analyze`, handing each packet with its verdicts to a printer, optionally
 * redacting payloads and copying the packets to a pcap file (`-w`), and stopping after a count.
 * A damaged input yields everything before the damage and the error; no capture at all is an error.
 */
import type { Readable } from 'node:stream';
import { MalformedInputError } from '../errors.js';
import { PcapParser, readPcapFile } from '../sources/packets.js';
import { linkTypeName } from '../model/packet.js';
import type { PcapFileInfo, RawPacket } from '../model/packet.js';
import type { Redactor, RedactionCounts } from '../privacy/redact.js';
import { decodeFrame, newDecodedTcp } from '../analysis/pcap/decode.js';
import type { DecodedTcp } from '../analysis/pcap/decode.js';
import { TcpAnalyzer } from '../analysis/pcap/analyzer.js';
import type { AnalysisSummary } from '../analysis/pcap/report-types.js';
import { FileRing } from '../sinks/pcap/file-ring.js';

export type CaptureInput = { readonly path: string } | { readonly stream: Readable; readonly name: string };

export interface ReadCaptureOptions {
  readonly onPacket: (packet: RawPacket<Buffer>, tcp: DecodedTcp | null, flags: number, icmp: boolean) => void;
  /** Stop after this many packets. */
  readonly count?: number;
  readonly redactor?: Redactor | null;
  /** Copy the packets read to this pcap file. */
  readonly output?: string;
  readonly snaplen?: number;
  readonly signal?: AbortSignal;
}

export interface ReadCaptureResult {
  packets: number;
  format: string | null;
  linkTypes: string[];
  files: string[];
  summary: AnalysisSummary;
  redactions: RedactionCounts | null;
  /** The damage that stopped the reading, if any (the packets before it were delivered). */
  error: MalformedInputError | null;
}

/** Thrown from the packet callback to stop at the count; caught below, never escapes. */
class CountReached extends Error {}

export async function readCapture(input: CaptureInput, o: ReadCaptureOptions): Promise<ReadCaptureResult> {
  const redactor = o.redactor ?? null;
  const ring = o.output === undefined ? null : new FileRing({ path: o.output, ringFiles: 0, ringFileBytes: 0, snaplen: o.snaplen ?? 262_144 });
  const analyzer = new TcpAnalyzer({ maxConnections: 1, onVerdict: o.onPacket });
  const scratch = newDecodedTcp();
  let delivered = 0;
  const onPacket = (p: RawPacket<Buffer>): void => {
    if (o.count !== undefined && delivered >= o.count) throw new CountReached();
    delivered++;
    // Redact before anything is shown or written: only TCP payload bytes change, in place.
    if (redactor !== null && decodeFrame(p.linkType, p.buf, p.offset, p.capLen, p.origLen, scratch) === 'tcp' && scratch.payloadCaptured > 0) {
      redactor.redact(p.buf, scratch.payloadOffset, scratch.payloadOffset + scratch.payloadCaptured);
    }
    analyzer.add(p);
    ring?.write(p.linkType, p.tsSec, p.tsNsec, p.buf, p.offset, p.capLen, p.origLen);
  };
  const header: { info: PcapFileInfo | null } = { info: null };
  let error: MalformedInputError | null = null;
  try {
    if ('path' in input) {
      readPcapFile(input.path, onPacket, { ...(o.signal === undefined ? {} : { signal: o.signal }), onFileInfo: (i) => (header.info = i) });
    } else {
      await readStream(input.stream, input.name, onPacket, header, o.signal);
    }
  } catch (e: unknown) {
    if (e instanceof CountReached) {
      // Stopped at the count, as tcpdump -c does.
    } else if (e instanceof MalformedInputError && header.info !== null) {
      error = e;
    } else {
      ring?.close();
      throw e;
    }
  }
  ring?.close();
  const report = analyzer.finish({ file: null, format: header.info?.format ?? null, linkTypes: [] });
  return {
    packets: report.packets,
    format: header.info?.format ?? null,
    linkTypes: (header.info?.linkTypes ?? []).map(linkTypeName),
    files: ring?.files ?? [],
    summary: report.summary,
    redactions: redactor === null ? null : { ...redactor.counts },
    error,
  };
}

async function readStream(stream: Readable, name: string, onPacket: (p: RawPacket<Buffer>) => void, header: { info: PcapFileInfo | null }, signal?: AbortSignal): Promise<void> {
  const parser = new PcapParser(onPacket, name);
  try {
    for await (const chunk of stream) {
      if (signal?.aborted === true) return;
      parser.push(chunk as Buffer);
      header.info ??= parser.info();
    }
    parser.end();
  } finally {
    header.info = parser.info() ?? header.info;
  }
}
