/**
 * rtt-high: round-trip times per peer above the threshold, or jumping over the window.
 *
 * Why it fires: every socket keeps a smoothed RTT (tcpi_rtt: srtt, RFC 6298 section 2) from
 * the ACKs of its own data; the median and 95th percentile over a peer's sockets is that path's
 * latency as the application meets it. The field guides call more than 100 ms (ICMP or TCP RTT)
 * slow. A peer whose median rose several times over during the window, to a level that matters,
 * is a path (or a peer) that just degraded: queueing, a reroute, a saturated link. Only sockets
 * that carried data in the window count (an idle socket's srtt is stale), and a jump to less
 * than half the threshold is left alone: a jump from 0.1 to 1 ms is queueing noise, and an srtt
 * of tens of ms can be a delayed ACK (40 ms, TCP_DELACK_MIN in include/net/tcp.h) on a busy
 * peer rather than the path.
 */
import type { TcpSocket } from '../../model/socket.js';
import { textAdvice, commandAdvice } from '../advice.js';
import type { FindingDraft, Rule } from '../rule.js';
import { groupBy, ownersEvidence, round, minOf } from '../view.js';
import type { FactsView } from '../view.js';

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index]!;
}

function active(view: FactsView, s: TcpSocket): boolean {
  if (s.state !== 'ESTABLISHED' || s.tcpInfo === null || s.tcpInfo.rttMs <= 0) return false;
  // It sent data in the window, so its RTT is current.
  return s.tcpInfo.lastSendMs < view.windowMs && (s.tcpInfo.bytesAcked ?? 0) > 1;
}

export const rttHigh: Rule = {
  id: 'rtt-high',
  summary: 'RTT percentiles per peer above the threshold, or jumping over the window',
  needs: ['sockets', 'tcpInfo'],
  logPatterns: [/slow|latency|timed? ?out|timeout/i],
  evaluate({ view, thresholds }) {
    const floorMs = thresholds.rtt_ms / 2;
    const findings: FindingDraft[] = [];
    let worst = 0;
    for (const [peer, group] of groupBy(view.end.filter((s) => active(view, s)), (s) => s.remote.address)) {
      if (group.length < thresholds.rtt_min_sockets) continue;
      const rtts = group.map((s) => s.tcpInfo!.rttMs).sort((a, b) => a - b);
      const p50 = quantile(rtts, 0.5);
      const p95 = quantile(rtts, 0.95);
      worst = Math.max(worst, p50);
      const before = group.map((s) => view.atStart(s)?.tcpInfo?.rttMs).filter((r): r is number => r !== undefined && r > 0).sort((a, b) => a - b);
      const p50Before = before.length >= thresholds.rtt_min_sockets ? quantile(before, 0.5) : null;
      const jumped = p50Before !== null && p50 >= floorMs && p50 >= p50Before * (1 + thresholds.rtt_jump_percent / 100);
      if (p50 < thresholds.rtt_ms && !jumped) continue;
      findings.push({
        severity: 'warning',
        title: jumped && p50 < thresholds.rtt_ms
          ? `RTT to ${peer} jumped from ${round(p50Before, 1)} ms to ${round(p50, 1)} ms (median of ${group.length} connections)`
          : `RTT to ${peer} is ${round(p50, 1)} ms (median, p95 ${round(p95, 1)} ms over ${group.length} connections)`,
        subject: peer,
        explanation:
          `The connections to ${peer} that carried data in the window measure a smoothed round-trip time of ${round(p50, 1)} ms at the median and ${round(p95, 1)} ms at the 95th percentile` +
          `${p50Before === null ? '' : ` (median ${round(p50Before, 1)} ms at the start of the window)`}. ` +
          `Every request pays it at least once, and a lost segment costs a retransmission timeout of several RTTs.`,
        evidence: {
          peer,
          connections: group.length,
          rttP50Ms: round(p50, 2),
          rttP95Ms: round(p95, 2),
          rttP50AtStartMs: p50Before === null ? null : round(p50Before, 2),
          minRttMs: round(minOf(group, (s) => s.tcpInfo!.minRttMs ?? s.tcpInfo!.rttMs), 2),
          jumped,
          processes: ownersEvidence(group),
        },
        advice: [
          textAdvice(`Compare with the path's floor: a minimum RTT (min_rtt) close to the median means distance, not congestion; a median far above it means queueing on the way to ${peer} or a busy peer.`),
          commandAdvice('Look at the path hop by hop:', `mtr -n -T ${peer}`),
          textAdvice('If the distance is the cause, serve from closer or reuse connections (keep-alive) so fewer round trips are paid; no TCP setting shortens a round trip.'),
        ],
      });
    }
    return { value: round(worst, 2), threshold: thresholds.rtt_ms, measure: 'median RTT (ms) of the slowest peer', findings };
  },
};
