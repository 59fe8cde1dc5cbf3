import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { action, out, warn } from '../run.js';
import { loadConfig, printJsonLine } from '../context.js';
import { duration, integer, oneOf, parseCount, size } from '../options.js';
import { BYTES, CAPTURE_BUFFER_KIB, RING_FILES, SNAPLEN } from '../../model/limits.js';
import { parseDecimalInteger } from '../../model/units.js';
import { commandScope, stopOnSignal } from '../lifetime.js';
import { addFilterOptions, filterFromFlags } from '../filter-options.js';
import type { FilterFlags } from '../filter-options.js';
import { addNetnsOption, netnsFromFlags } from '../netns-option.js';
import type { NetnsFlags } from '../netns-option.js';
import { netnsLabel } from '../../platform/netns.js';

interface CaptureFlags extends FilterFlags, NetnsFlags {
  interface?: string;
  direction?: 'in' | 'out' | 'both';
  snaplen?: number;
  bufferSize?: number;
  duration?: number;
  count?: number;
  maxSize?: number;
  write?: string;
  ring?: number;
  ringSize?: number;
  redact?: boolean;
  json?: boolean;
  quiet?: boolean;
  numeric?: boolean;
  read?: string;
  absoluteSeq?: boolean;
}

/** As tcpdump -s: 0 means the largest snapshot (MAXIMUM_SNAPLEN, 262144 bytes). */
const parseSnaplen = Object.assign(
  (text: string): number => (text.trim() === '0' ? SNAPLEN.max : parseDecimalInteger(text, SNAPLEN)),
  { accepts: `0 (the largest) or ${SNAPLEN.min}-${SNAPLEN.max}` },
);

export type { CaptureFlags };

export function registerCapture(program: Command): void {
  const command = program
    .command('capture')
    .argument('[filter...]', 'BPF filter expression (pcap-filter(7)), e.g. tcp port 443')
    .description('capture packets (tcpdump/libpcap engine), or read a capture file (-r): a tcpdump -nn style line per packet with Wireshark verdicts, pcap files Wireshark opens, kernel drop counts')
    .option('-r, --read <file>', 'read packets from a pcap/pcapng file ("-" for stdin) instead of capturing; needs no root')
    .option('-S, --absolute-seq', 'print absolute TCP sequence numbers (tcpdump -S); relative ones by default, as tcpdump')
    .option('-i, --interface <name>', 'interface to capture on (default: config capture.interface, "any")')
    .option('--direction <dir>', 'in, out or both (default: config capture.direction)', oneOf(['in', 'out', 'both'] as const))
    .option('-s, --snaplen <bytes>', 'capture depth per packet (default: config capture.snaplen, 65535)', parseSnaplen)
    .option('-B, --buffer-size <KiB>', 'the kernel\'s capture buffer in KiB, as tcpdump -B (default: config capture.buffer_mb, 32 MiB: loopback bursts overflow tcpdump\'s 2 MiB)', integer(CAPTURE_BUFFER_KIB))
    .option('-c, --count <n>', 'stop after N packets (as tcpdump -c)', parseCount)
    .option('-n, --numeric', 'numeric addresses and ports: tcpdiag never resolves names (as tcpdump -n; -nn too)')
    // No -d: tcpdump -d prints the compiled filter.
    .option('--duration <time>', 'stop after this long', duration())
    .option('--max-size <size>', 'stop once this much is written (10M, 1G)', size(BYTES))
    .option('-w, --write <file>', 'write packets to this pcap file (a name pattern with --ring)')
    .option('--ring <n>', 'continuous capture: keep the newest N files (default: config capture.ring_files)', integer(RING_FILES))
    .option('--ring-size <size>', 'with --ring: size of each file (default: config capture.ring_file_mb)', size(BYTES))
    .option('--redact', 'mask ID/phone/e-mail/card numbers and configured patterns in payloads before anything is written or shown (default: config privacy.redact)')
    .option('--json', 'one JSON object per packet, then a summary object')
    .option('-q, --quiet', 'no line per packet, only the summary');
  // The filter flags of conns and trace, for packets: src/sport are the sender, as in tcpdump.
  addFilterOptions(command, { states: false, remote: true, owners: false, short: 'none' });
  addNetnsOption(command, 'interfaces and packets')
    .addHelpText(
      'after',
      `
Short flags follow tcpdump(8): -i interface, -w file, -r file, -c count, -s snaplen (0: the
largest), -n/-nn numeric (always), -S absolute sequence numbers, so tcpdump -nn -i eth0 -c 100
-s 128 port 80 works as it is.

Examples:
  tcpdiag capture -i eth0 tcp port 443                 live lines like tcpdump -nn, Ctrl-C stops
  tcpdiag capture -w /tmp/web.pcap --duration 30s port 80   30 s of port 80 into a file Wireshark opens
  tcpdiag capture -nn -i lo -c 1000 -s 128 -w in.pcap --direction in
  tcpdiag capture -q --ring 10 --ring-size 100M -w /var/lib/tcpdiag/captures/edge.pcap   continuous
  tcpdiag capture --redact -w shared.pcap port 8080    payload PII masked, lengths kept
  tcpdiag capture --port 443 --addr 10.0.0.0/8 -6     the filter flags of conns/trace, as BPF
  tcpdiag capture -r /tmp/web.pcap                     a capture file as lines, like tcpdump -nn -r
  tcpdump -r big.pcap -w - port 443 | tcpdiag capture -r -     filtered by tcpdump first

Lines are what tcpdump -nn prints, sequence numbers relative to each conversation's first
ACK-bearing segment unless -S (tcpdump's rule).
Live capture needs root (tcpdump); -r needs none and takes no filter (pipe tcpdump's -w - in).
Lines carry Wireshark's verdicts in brackets ([retransmission], [dup-ack], [zero-window]...),
tunnels as a prefix (vxlan: IP ...), and ICMP errors name the connection they quote
([quotes 10.0.0.1.40000 > 10.0.0.2.443]). With -w and nothing captured the file is still a
valid, empty pcap; an unwritable -w path fails before the capture starts. At the end it prints
what tcpdump reports: packets captured, received by the filter and dropped by the kernel (raise
-s less, filter more, if drops appear).
--port, --sport, --dport, --addr, --ipv4, --ipv6 become part of the BPF filter (ANDed with the
expression), so the kernel drops what they exclude; --sport/--dport are the packet's source
and destination port, as tcpdump's src/dst port.
JSON: {"type":"packet", n, ts, src, dst, flags, seq, ack, window, payloadBytes, analysis} per
packet; {"type":"summary", packets, kernel: {captured, receivedByFilter, droppedByKernel},
files, stoppedBy, summary, redactions} at the end.`,
    )
    .action(
      action(async (filter: string[], flags: CaptureFlags, command: Command) => {
        const config = loadConfig(command, { sections: ['capture', 'privacy'] });
        const netns = netnsFromFlags(flags);
        if (flags.read !== undefined) {
          const { readCaptureCommand } = await import('../capture-read.js');
          return readCaptureCommand(flags.read, filter, flags, config, netns !== undefined);
        }
        const ringFiles = flags.ring ?? config.capture.ring_files;
        if (ringFiles > 0 && flags.write === undefined) {
          throw new UsageError('--ring needs --write FILE: the name pattern of the rotating files', 'e.g. --ring 10 --ring-size 100M -w /var/lib/tcpdiag/captures/edge.pcap');
        }
        const redact = flags.redact === true || config.privacy.redact;
        const { runLiveCapture } = await import('../../sessions/capture-session.js');
        const { PacketLinePrinter } = await import('../../sinks/pcap/packet-line.js');
        const printer = new PacketLinePrinter({ absoluteSeq: flags.absoluteSeq === true });
        const redactor = redact
          ? new (await import('../../privacy/redact.js')).Redactor({ kinds: config.privacy.kinds, patterns: config.privacy.patterns, maskChar: config.privacy.mask_char })
          : null;
        const controller = stopOnSignal();
        const json = flags.json === true;
        const quiet = flags.quiet === true;
        try {
          const result = await runLiveCapture({
            interface: flags.interface ?? config.capture.interface,
            direction: flags.direction ?? config.capture.direction,
            snaplen: flags.snaplen ?? config.capture.snaplen,
            bufferKiB: flags.bufferSize ?? config.capture.buffer_mb * 1024,
            filter,
            connFilter: filterFromFlags(flags),
            ...(netns === undefined ? {} : { netns: netns.path }),
            ...(flags.count === undefined ? {} : { count: flags.count }),
            ...(flags.duration === undefined ? {} : { durationMs: flags.duration }),
            ...(flags.maxSize === undefined ? {} : { maxBytes: flags.maxSize }),
            ...(flags.write === undefined ? {} : { output: flags.write }),
            ringFiles,
            ringFileBytes: flags.ringSize ?? config.capture.ring_file_mb * 1024 * 1024,
            redactor,
            signal: controller.signal,
            scope: commandScope(),
            onStarted: (pid) => {
              process.stderr.write(`tcpdiag: capturing on ${flags.interface ?? config.capture.interface}${netns === undefined ? '' : ` in network namespace ${netnsLabel(netns)}`} (tcpdump pid ${pid ?? '?'})${redact ? ', payloads redacted' : ''}; Ctrl-C stops\n`);
            },
            ...(quiet ? {} : { onPacket: json ? (p, t, f, icmp) => printJsonLine(printer.json(p, t, f, icmp)) : (p, t, f, icmp) => out(printer.line(p, t, f, icmp) + '\n') }),
          });
          const k = result.kernel;
          if (json) {
            printJsonLine({ type: 'summary', ...result });
          } else {
            const s = result.summary;
            process.stderr.write(
              `${k.captured ?? result.packets} packets captured, ${k.receivedByFilter ?? '?'} received by filter, ${k.droppedByKernel ?? '?'} dropped by kernel` +
                `${k.droppedByInterface === null ? '' : `, ${k.droppedByInterface} dropped by interface`} (stopped by ${result.stoppedBy})\n` +
                `TCP: ${s.connections} connections, ${s.retransmissions} retransmissions, ${s.duplicateAcks} dup ACKs, ${s.zeroWindows} zero windows, ${s.rst} RST\n` +
                (result.files.length > 0 ? `wrote ${result.files.join(', ')}\n` : '') +
                (result.redactions === null ? '' : `redacted: ${Object.entries(result.redactions).map(([kind, n]) => `${kind} ${n}`).join(', ')}\n`),
            );
          }
          if ((k.droppedByKernel ?? 0) > 0) warn(`the kernel dropped ${k.droppedByKernel} packets: capture less (a narrower filter, a smaller --snaplen)`);
        } finally {
          controller.release();
        }
        return 0;
      }),
    );
}
