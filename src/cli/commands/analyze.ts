import type { Command } from 'commander';
import { MalformedInputError } from '../../errors.js';
import { action, out } from '../run.js';
import { loadConfig, printJson } from '../context.js';
import { integer } from '../options.js';
import { ROWS } from '../../model/limits.js';
import { stopOnSignal } from '../lifetime.js';
import type { FindingInputs } from '../../analysis/pcap/findings.js';

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
    .option('--diagnose', 'also judge the capture with the rules of `tcpdiag diagnose` (same ids): "diagnosis" in the JSON, a report after the text')
    .option('--frames', 'with --json: list the frame numbers of each verdict ("frames": {"retransmission": [..], ...}), to check packet by packet against tshark')
    .addHelpText(
      'after',
      `
Examples:
  tcpdiag analyze /tmp/web.pcap                     summary, troubled connections, findings
  tcpdiag analyze capture.pcapng --json | jq .summary
  tcpdiag analyze big.pcap --json --max-connections 100 > report.json

Reads pcap (micro/nanosecond, either byte order) and pcapng (sections, interfaces, EPB/SPB,
if_tsresol) with Ethernet/VLAN, raw IP, Linux cooked (SLL, SLL2) and BSD loopback frames, IPv4
and IPv6. Per-packet verdicts follow Wireshark's TCP analysis: "retransmissions" counts what
tshark marks tcp.analysis.retransmission (fast and spurious included), "duplicateAcks"
tcp.analysis.duplicate_ack, "zeroWindows", "outOfOrder", "lostSegments" (previous segment not
captured) and "keepAlives" likewise. Connection "state" and "history" are Zeek's conn_state and
history (upper case: client). A damaged file reports what was readable, names the byte offset of
the damage and exits 1.

JSON: { packets, tcpPackets, summary: {connections, syn, synAck, fin, rst, retransmissions,
fastRetransmissions, spuriousRetransmissions, duplicateAcks, zeroWindows, outOfOrder,
lostSegments, keepAlives, handshakesCompleted, handshakesFailed}, connections: [{id, client,
server, state, history, handshakeRttMs, rttMs, retransmissions, duplicateAcks, zeroWindows,
resets, ...}], timeline: [{t, syn, synAck, fin, rst, retransmissions, packets, bytes}],
topTalkers, failedHandshakes, findings: [{id, severity, title, evidence}], error }`,
    )
    .action(
      action(async (file: string, flags: AnalyzeFlags, command: Command) => {
        const config = loadConfig(command, { sections: flags.diagnose === true ? ['thresholds', 'diagnose'] : [] });
        let findingInputs: FindingInputs | null = null;
        const { analyzeCaptureFile } = await import('../../sessions/capture-file.js');
        const controller = stopOnSignal();
        let report;
        try {
          report = analyzeCaptureFile(file, {
            maxConnections: flags.maxConnections ?? 1000,
            topTalkers: flags.top ?? 10,
            signal: controller.signal,
            frames: flags.frames === true,
            onFindingInputs: (inputs) => (findingInputs = inputs),
          });
        } finally {
          controller.release();
        }
        const diagnosis = flags.diagnose === true && findingInputs !== null
          ? (await import('../../diagnose/capture-facts.js')).diagnoseCapture(findingInputs, report, { ...config.thresholds, ...config.diagnose })
          : null;
        if (flags.json === true) printJson(diagnosis === null ? report : { ...report, diagnosis }, flags.pretty === true);
        else {
          const { renderAnalysisText } = await import('../../sinks/pcap/report-text.js');
          out(renderAnalysisText(report, flags.rows ?? 30));
          if (diagnosis !== null) out(`\ndiagnosis (the rules of tcpdiag diagnose):\n${(await import('../../sinks/diagnose/report-text.js')).formatDiagnosis(diagnosis)}`);
        }
        if (report.error !== null) {
          throw new MalformedInputError(file, report.error.message.replace(`${file}: `, ''), report.error.offset ?? undefined,
            `the ${report.error.afterPacket} packets before the damage are reported above`);
        }
        return 0;
      }),
    );
}
