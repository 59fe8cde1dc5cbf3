import type { Command } from 'commander';
import { MalformedInputError } from '../../errors.js';
import { action, out } from '../run.js';
import { loadConfig, printJson } from '../context.js';
import { integer } from '../options.js';
import { ROWS } from '../../model/limits.js';
import { stopOnSignal } from '../lifetime.js';

interface AnalyzeFlags {
  json?: boolean;
  pretty?: boolean;
  maxConnections?: number;
  top?: number;
  rows?: number;
  frames?: boolean;
  diagnose?: boolean;
}

export function registerAnalyze(program: Command): void {
  program
    .command('analyze')
    .argument('<file>', 'a pcap or pcapng capture (tcpdump -w, tcpdiag capture, Wireshark)')
    .description('offline TCP analysis of a capture: per-connection state, RTT, retransmissions, dup ACKs, zero windows, findings (verdicts as Wireshark gives them)')
    .option('--json', 'print one JSON object')
    .option('--pretty', 'with --json: indent the JSON')
    .option('--max-connections <n>', 'list at most N connections (the most troubled first); totals always cover all', integer(ROWS), 1000)
    .option('--top <n>', 'top talkers to list', integer(ROWS), 10)
    .option('--rows <n>', 'connections shown in the text table', integer(ROWS), 30)
    .option('--diagnose', 'also show the whole diagnosis: the health score and every rule checked or skipped ("diagnosis" in the JSON, a report after the text)')
    .option('--frames', 'with --json: list the frame numbers of each verdict ("frames": {"retransmission": [..], ...}), to check packet by packet against tshark')
    .addHelpText(
      'after',
      `
Examples:
  tcpdiag analyze /tmp/web.pcap                     summary, troubled connections, findings
  tcpdiag analyze web.pcap --diagnose               and the score, every rule checked or skipped
  tcpdiag analyze capture.pcapng --json | jq .summary
  tcpdiag analyze big.pcap --json --max-connections 100 > report.json

Reads pcap (micro/nanosecond, either byte order) and pcapng (sections, interfaces, EPB/SPB,
if_tsresol) with Ethernet/VLAN, raw IP, Linux cooked (SLL, SLL2) and BSD loopback frames, IPv4
and IPv6, and finds TCP inside MPLS, PPPoE, 802.1ah, VN-Tag, IP-in-IP, 6in4/4in6/6in6, GRE
(with ERSPAN I/II/III), VXLAN (UDP 4789), GENEVE (6081), Teredo (3544), GTP-U (2152),
GRE-in-UDP (4754) and AYIYA (5072); connections are keyed by their inner 4-tuple and list their
"encapsulation". Per-packet verdicts follow Wireshark's TCP analysis: "retransmissions" counts
what tshark marks tcp.analysis.retransmission (fast and spurious included), "duplicateAcks"
tcp.analysis.duplicate_ack, "zeroWindows", "outOfOrder", "lostSegments" (previous segment not
captured) and "keepAlives" likewise; "streams" counts tshark's tcp.stream values.

ICMP and ICMPv6 errors that quote a TCP segment (unreachable, administratively prohibited,
fragmentation needed / packet too big with their MTU, time exceeded) are counted apart
("summary.icmpErrors"), never as SYN/RST/FIN on the wire, and listed on the connection of the
quoted 4-tuple ("icmpErrors").

Findings come from the rules of \`tcpdiag diagnose\`, with the same ids and thresholds
(tcp_diag.conf's [thresholds] and [diagnose]): syn-flood, conn-refused (SYN answered by RST),
syn-sent-unanswered (SYNs resent with no answer, or answered by ICMP: "filtered" when a firewall
rejects them with administratively prohibited, "unreachable" for no route or host),
retransmission-high (data retransmitted toward a peer; SYN resends are not data), zero-window
(a stall of a second or more) and mtu-blackhole (fragmentation needed / packet too big with a
next-hop MTU below the MSS in use). Rules that read the host's sockets, counters or sysctls
cannot judge a capture: --diagnose lists them as skipped.

Connections are Zeek's (its conn.log rows): "state" is conn_state and "history" its history
letters (upper case: the originator, "client"), by Zeek's rules: ^ when Zeek flips the
direction, g/G content gaps, t/w/g logarithmic, a new SYN after a close or reset starts a new
connection, and Zeek's TCP timers in capture time (an unanswered attempt is dropped after 5 s,
a closed connection 5 s after its close, an idle one after 1 min before the handshake completes
and 5 min after). Where tcpdiag differs from Zeek: checksums are not verified (as zeek -C);
the likely-server-port list that decides flips is Zeek 8's default one (a site's redefinitions
and the ports of analyzers a bare "zeek -b" run does not load are not known); Zeek's
per-service inactivity timeouts (conn/inactivity.zeek) are not applied; and what its protocol
analyzers do to a connection (X, skipped content) is not modelled.

A damaged file reports what was readable and exits 1 with one error naming the byte offset;
a file that is no capture at all is one error and no report.

JSON: { packets, tcpPackets, summary: {connections, streams, syn, synAck, fin, rst,
retransmissions, fastRetransmissions, spuriousRetransmissions, duplicateAcks, zeroWindows,
outOfOrder, lostSegments, keepAlives, handshakesCompleted, handshakesFailed, payloadBytes,
icmpErrors}, connections: [{id, stream, client, server, state, history, encapsulation,
handshakeRttMs, rttMs, retransmissions, duplicateAcks, zeroWindows, resets, icmpErrors: [{type,
code, name, nextHopMtu?, count}], ...}], timeline: [{t, syn, synAck, fin, rst, retransmissions,
packets, bytes, icmpErrors}], topTalkers, failedHandshakes, findings: [{id, severity, title,
subject, explanation, evidence, advice: [{text, command?}], source, atMs}], error }`,
    )
    .action(
      action(async (file: string, flags: AnalyzeFlags, command: Command) => {
        const config = loadConfig(command, { sections: ['thresholds', 'diagnose'] });
        const { analyzeCapture } = await import('../../sessions/capture-file.js');
        const controller = stopOnSignal();
        let analysis;
        try {
          analysis = await analyzeCapture(file, {
            maxConnections: flags.maxConnections ?? 1000,
            topTalkers: flags.top ?? 10,
            signal: controller.signal,
            frames: flags.frames === true,
            thresholds: { ...config.thresholds, ...config.diagnose },
          });
        } finally {
          controller.release();
        }
        const { report } = analysis;
        const diagnosis = flags.diagnose === true ? analysis.diagnosis : null;
        if (flags.json === true) printJson(diagnosis === null ? report : { ...report, diagnosis }, flags.pretty === true);
        else {
          const { renderAnalysisText } = await import('../../sinks/pcap/report-text.js');
          out(renderAnalysisText(report, flags.rows ?? 30));
          if (diagnosis !== null) out(`\ndiagnosis (the rules of tcpdiag diagnose):\n${(await import('../../sinks/diagnose/report-text.js')).formatDiagnosis(diagnosis)}`);
        }
        if (report.error !== null) {
          throw new MalformedInputError(file, report.error.message, report.error.offset ?? undefined,
            `the ${report.error.afterPacket} packets before the damage are reported above`);
        }
        return 0;
      }),
    );
}
