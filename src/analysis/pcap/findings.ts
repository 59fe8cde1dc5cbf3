/**
 * Findings from a capture's aggregates: facts in, findings out, no I/O (style guide, habit 10).
 * Each rule says why it fires.
 */
import type { AnalysisSummary, Finding } from './report-types.js';

export interface FindingInputs {
  summary: AnalysisSummary;
  durationS: number;
  services: Array<{ address: string; port: number; syn: number; completed: number; refused: number; sources: number; sourcePorts: number }>;
  peers: Array<{ address: string; dataSegments: number; retransmissions: number }>;
  stalls: Array<{ id: number; client: string; server: string; stallMs: number; zeroWindows: number }>;
  peakSynPerSecond: number;
}

/** A SYN flood shows as many SYNs to one service, few completed handshakes, many sources. */
const SYN_FLOOD_MIN_SYN = 200;
const SYN_FLOOD_MAX_COMPLETION = 0.2;
/** A zero window held for over a second stalls the sender (RFC 9293 3.8.6.1, persist timer). */
const ZERO_WINDOW_STALL_MS = 1000;
/** The brief's threshold: retransmission rate above 1% is unhealthy; a storm is far above it. */
const STORM_MIN_RETRANS = 20;
const STORM_MIN_RATIO = 0.05;

export function buildFindings(input: FindingInputs): Finding[] {
  const findings: Finding[] = [];

  for (const svc of input.services) {
    const completion = svc.sourcePorts === 0 ? 1 : svc.completed / svc.sourcePorts;
    // Many half-open attempts that never complete, from many source ports or addresses: the
    // signature of a SYN flood (RFC 4987), not of a busy but healthy service.
    if (svc.syn >= SYN_FLOOD_MIN_SYN && completion < SYN_FLOOD_MAX_COMPLETION && svc.sourcePorts >= SYN_FLOOD_MIN_SYN / 2) {
      findings.push({
        id: 'syn-flood',
        severity: 'critical',
        title: `SYN flood signature toward ${svc.address}:${svc.port}: ${svc.syn} SYNs, ${svc.completed} handshakes completed`,
        evidence: { server: `${svc.address}:${svc.port}`, syn: svc.syn, connectionAttempts: svc.sourcePorts, handshakesCompleted: svc.completed, completionRatio: round(completion), distinctSources: svc.sources, peakSynPerSecond: input.peakSynPerSecond },
        advice: 'enable SYN cookies (sysctl -w net.ipv4.tcp_syncookies=1), raise net.ipv4.tcp_max_syn_backlog, and rate-limit SYNs per source at the edge',
      });
    }
    // Connection refused: the server answered SYN with RST (no listener, or a firewall REJECT).
    if (svc.refused > 0) {
      findings.push({
        id: 'connection-refused',
        severity: svc.refused >= 10 ? 'warning' : 'info',
        title: `${svc.refused} connection${svc.refused === 1 ? '' : 's'} to ${svc.address}:${svc.port} refused (SYN answered by RST)`,
        evidence: { server: `${svc.address}:${svc.port}`, refused: svc.refused, attempts: svc.sourcePorts },
        advice: 'check that the service listens on that address and port (ss -ltn) and that no firewall rejects it',
      });
    }
  }

  const unanswered = input.summary.handshakesFailed;
  if (unanswered > 0 && !findings.some((f) => f.id === 'syn-flood')) {
    findings.push({
      id: 'failed-handshakes',
      severity: unanswered >= 10 ? 'warning' : 'info',
      title: `${unanswered} handshake${unanswered === 1 ? '' : 's'} did not complete`,
      evidence: { handshakesFailed: unanswered, handshakesCompleted: input.summary.handshakesCompleted },
    });
  }

  for (const stall of input.stalls) {
    if (stall.stallMs < ZERO_WINDOW_STALL_MS) continue;
    // The receiver's buffer stayed full: the application does not read fast enough.
    findings.push({
      id: 'zero-window-stall',
      severity: 'warning',
      title: `zero-window stall of ${Math.round(stall.stallMs)} ms on ${stall.client} -> ${stall.server}`,
      evidence: { connection: stall.id, client: stall.client, server: stall.server, stallMs: stall.stallMs, zeroWindows: stall.zeroWindows },
      advice: 'the receiving application stopped reading its socket; check it for blocking work, and tcp_rmem if it is merely slow',
    });
    if (findings.filter((f) => f.id === 'zero-window-stall').length >= 10) break;
  }

  const storms = input.peers
    .filter((p) => p.retransmissions >= STORM_MIN_RETRANS && p.retransmissions / Math.max(1, p.dataSegments) >= STORM_MIN_RATIO)
    .sort((x, y) => y.retransmissions - x.retransmissions)
    .slice(0, 5);
  for (const peer of storms) {
    // Loss concentrated toward one peer points at its path or its host, not at this sender.
    findings.push({
      id: 'retransmission-storm',
      severity: peer.retransmissions / Math.max(1, peer.dataSegments) >= 0.2 ? 'critical' : 'warning',
      title: `retransmission storm toward ${peer.address}: ${peer.retransmissions} retransmissions for ${peer.dataSegments} data segments`,
      evidence: { peer: peer.address, retransmissions: peer.retransmissions, dataSegments: peer.dataSegments, ratio: round(peer.retransmissions / Math.max(1, peer.dataSegments)) },
      advice: 'look at the path to this peer (loss, MTU, a saturated link) and at its receive side',
    });
  }
  return findings;
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
