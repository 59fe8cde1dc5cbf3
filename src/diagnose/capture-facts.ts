/**
 * Facts from a capture file: what its packets tell — SYNs per service and how many handshakes
 * completed or were refused, SYNs never answered, data retransmissions per peer, zero-window
 * stalls, ICMP errors about TCP — so `analyze` judges them with the same rules and ids as
 * `diagnose`. Built from the capture analysis's aggregates and its report; the host's sockets,
 * counters, sysctls and processes are not in a capture, so the rules that need them are
 * reported skipped.
 */
import type { CaptureInputs } from '../analysis/pcap/capture-inputs.js';
import type { AnalysisReport } from '../analysis/pcap/report-types.js';
import type { CaptureFacts, Facts } from '../model/facts.js';
import type { DiagnosisReport } from '../model/diagnosis.js';
import { runRules } from './engine.js';
import { buildReport } from './report.js';
import type { Thresholds } from './rule.js';
import { RULES } from './rules/index.js';

export function captureFacts(inputs: CaptureInputs, report: AnalysisReport): Facts {
  const startMs = report.firstPacket === null ? 0 : Date.parse(report.firstPacket);
  const endMs = report.lastPacket === null ? startMs : Date.parse(report.lastPacket);
  const capture: CaptureFacts = {
    packets: report.packets,
    services: inputs.services.map((s) => ({
      address: s.address, port: s.port, syn: s.syn, attempts: s.sourcePorts, completed: s.completed, refused: s.refused, sources: s.sources,
    })),
    peers: inputs.peers,
    unanswered: report.failedHandshakes.filter((h) => h.state === 'S0').map((h) => ({ client: h.client, server: h.server, synCount: h.synCount })),
    zeroWindowStalls: inputs.stalls.map((s) => ({ client: s.client, server: s.server, stallMs: s.stallMs, zeroWindows: s.zeroWindows })),
    peakSynPerSecond: inputs.peakSynPerSecond,
    icmpErrors: inputs.icmp.map((g) => ({
      kind: g.kind, name: g.name, family: g.family, type: g.type, code: g.code, from: g.from, server: g.server, senders: g.senders, count: g.count,
      mtu: g.mtu > 0 ? g.mtu : null, mss: g.mss > 0 ? g.mss : null, connections: g.connectionIds,
    })),
  };
  return {
    origin: 'capture',
    window: { startMs, endMs: Math.max(endMs, startMs + 1) },
    scope: {},
    sockets: null,
    counters: null,
    sysctl: null,
    events: null,
    processes: null,
    host: null,
    capture,
    missing: [],
  };
}

/** A capture judged by every rule: the rules packets can inform run, the others are skipped. */
export function diagnoseCapture(inputs: CaptureInputs, report: AnalysisReport, thresholds: Thresholds): DiagnosisReport {
  const facts = captureFacts(inputs, report);
  const result = runRules(facts, thresholds, RULES, { source: 'analyze' });
  return buildReport({ facts, result, rules: RULES, logLines: [], logs: [], issues: [] });
}
