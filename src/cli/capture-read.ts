/**
 * `tcpdiag capture -r FILE`: a capture read as packet lines (tcpdump -nn -r), wiring only;
 * -c stops after a count, as live.
 */
import { MalformedInputError, UsageError } from '../errors.js';
import type { TcpdiagConfig } from '../config/schema.js';
import { out, printJsonLine } from './run.js';
import { stopOnSignal } from './lifetime.js';
import type { CaptureFlags } from './commands/capture.js';
import { filterFromFlags } from './filter-options.js';

export async function readCaptureCommand(file: string, filter: string[], flags: CaptureFlags, config: TcpdiagConfig, inNamespace: boolean): Promise<number> {
  if (inNamespace) throw new UsageError('--netns is for live capture, not with -r: a file is read as it is');
  if (filter.length > 0 || Object.keys(filterFromFlags(flags)).length > 0) {
    throw new UsageError('capture -r takes no filter expression: tcpdiag does not compile BPF itself',
      `filter with tcpdump first: tcpdump -r ${file} -w - ${filter.join(' ')} | tcpdiag capture -r -`);
  }
  const live = (['interface', 'direction', 'duration', 'ring', 'ringSize', 'maxSize'] as const).filter((k) => flags[k] !== undefined);
  if (live.length > 0) throw new UsageError(`--${live[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is for live capture, not with -r`);
  const { readCapture } = await import('../sessions/capture-read.js');
  const { PacketLinePrinter } = await import('../sinks/pcap/packet-line.js');
  const redact = flags.redact === true || config.privacy.redact;
  const redactor = redact
    ? new (await import('../privacy/redact.js')).Redactor({ kinds: config.privacy.kinds, patterns: config.privacy.patterns, maskChar: config.privacy.mask_char })
    : null;
  const printer = new PacketLinePrinter({ absoluteSeq: flags.absoluteSeq === true });
  const json = flags.json === true;
  const quiet = flags.quiet === true;
  const controller = stopOnSignal();
  let result;
  try {
    result = await readCapture(file === '-' ? { stream: process.stdin, name: 'stdin' } : { path: file }, {
      onPacket: quiet ? () => {} : json ? (p, t, f, icmp) => printJsonLine(printer.json(p, t, f, icmp)) : (p, t, f, icmp) => out(`${printer.line(p, t, f, icmp)}\n`),
      redactor,
      signal: controller.signal,
      ...(flags.count === undefined ? {} : { count: flags.count }),
      ...(flags.write === undefined ? {} : { output: flags.write }),
      ...(flags.snaplen === undefined ? {} : { snaplen: flags.snaplen }),
    });
  } finally {
    controller.release();
  }
  const s = result.summary;
  if (json) {
    const { error, ...rest } = result;
    printJsonLine({ type: 'summary', ...rest, error: error === null ? null : { message: error.reason, offset: error.offset ?? null } });
  } else {
    process.stderr.write(
      `${result.packets} packets read from ${file === '-' ? 'stdin' : file} (${result.format ?? '?'}, ${result.linkTypes.join(', ')})\n` +
        `TCP: ${s.connections} connections, ${s.retransmissions} retransmissions, ${s.duplicateAcks} dup ACKs, ${s.zeroWindows} zero windows, ${s.rst} RST, ${s.icmpErrors} ICMP errors\n` +
        (result.files.length > 0 ? `wrote ${result.files.join(', ')}\n` : ''),
    );
  }
  if (result.error !== null) {
    throw new MalformedInputError(file, result.error.reason, result.error.offset, `the ${result.packets} packets before the damage are printed above`);
  }
  return 0;
}
