/**
 * retransmission-high: the share of data segments sent again over the window, and which peers
 * carry it.
 *
 * Why it fires: TCP resends a segment when it concludes it was lost (RTO expiry, RFC 6298, or
 * fast retransmit on duplicate ACKs/SACK, RFC 5681 and RFC 6675). RetransSegs / OutSegs over the
 * window (RFC 4022 tcpRetransSegs, tcpOutSegs) is therefore the host's loss rate as TCP saw it;
 * the field guides call more than 1% unhealthy and sustained loss above 5% an incident. SYN and
 * SYN-ACK resends are in RetransSegs too (tcp_retransmit_skb() and tcp_rtx_synack() count both
 * it and TCPSynRetrans), but they are about unanswered handshakes, which syn-sent-unanswered and
 * syn-flood judge, so they are taken out. The peers come from each socket's own tcp_info
 * (tcpi_total_retrans and tcpi_segs_out at both ends of the window) and from the kernel's
 * retransmit events when tracing ran.
 */
import type { TcpSocket } from '../../model/socket.js';
import { commandAdvice, textAdvice } from '../advice.js';
import type { FindingDraft, Rule } from '../rule.js';
import { percent, round, sumBy } from '../view.js';
import type { FactsView } from '../view.js';

interface PeerLoss {
  readonly peer: string;
  readonly retransmits: number;
  readonly segmentsOut: number;
  readonly ratioPercent: number;
  readonly sockets: number;
  readonly processes: Array<{ pid: number; process: string }>;
}

/** Per-peer retransmissions and segments over the window, from tcp_info (new sockets count from zero). */
export function peerRetransmits(view: FactsView): PeerLoss[] {
  return view.derive('peerRetransmits', (v) => {
    const byPeer = new Map<string, { retransmits: number; segmentsOut: number; sockets: number; owners: Map<number, string> }>();
    const add = (s: TcpSocket, retrans: number, segs: number) => {
      const entry = byPeer.get(s.remote.address) ?? { retransmits: 0, segmentsOut: 0, sockets: 0, owners: new Map<number, string>() };
      entry.retransmits += retrans;
      entry.segmentsOut += segs;
      entry.sockets++;
      if (s.pid !== null) entry.owners.set(s.pid, s.process ?? '?');
      byPeer.set(s.remote.address, entry);
    };
    for (const s of v.end) {
      if (s.tcpInfo === null || s.state === 'LISTEN' || s.state === 'TIME_WAIT' || s.state === 'SYN_RECV') continue;
      const before = v.atStart(s)?.tcpInfo;
      const retrans = s.tcpInfo.totalRetrans - (before?.totalRetrans ?? 0);
      const segs = (s.tcpInfo.segsOut ?? 0) - (before?.segsOut ?? 0);
      if (retrans > 0 || segs > 0) add(s, Math.max(0, retrans), Math.max(0, segs));
    }
    return [...byPeer].map(([peer, e]) => ({
      peer,
      retransmits: e.retransmits,
      segmentsOut: e.segmentsOut,
      ratioPercent: percent(e.retransmits, e.segmentsOut),
      sockets: e.sockets,
      processes: [...e.owners].map(([pid, process]) => ({ pid, process })),
    })).sort((a, b) => b.retransmits - a.retransmits || b.segmentsOut - a.segmentsOut);
  });
}

export const retransmissionHigh: Rule = {
  id: 'retransmission-high',
  summary: 'data retransmission ratio over the window, and the peers that carry it',
  needs: ['counters'],
  logPatterns: [/timed? ?out|ETIMEDOUT|timeout/i, /slow/i],
  evaluate({ view, facts, thresholds }) {
    const withInfo = facts.sockets !== null && !facts.missing.some((m) => m.kind === 'tcpInfo');
    const allPeers = withInfo ? peerRetransmits(view) : [];
    const peers = allPeers.filter((p) => p.retransmits > 0);
    // Host-wide counters, unless the diagnosis is narrowed: then only the sockets in scope count.
    const scoped = view.scoped;
    if (scoped && !withInfo) {
      return { skip: 'with --port or --pid the ratio comes from each socket\'s tcp_info, which this source does not give', hint: 'build the native addon (npm run install) for sock_diag' };
    }
    const retrans = scoped ? peers.reduce((n, p) => n + p.retransmits, 0) : Math.max(0, view.delta('RetransSegs') - view.delta('TCPSynRetrans'));
    const out = scoped ? allPeers.reduce((n, p) => n + p.segmentsOut, 0) : view.delta('OutSegs');
    const ratio = out === 0 ? 0 : (100 * retrans) / out;
    const value = round(ratio, 3);
    const judged = out >= thresholds.retrans_min_segments && retrans >= thresholds.retrans_min_count;
    if (!judged || ratio < thresholds.retrans_ratio_percent) {
      return { value, threshold: thresholds.retrans_ratio_percent, measure: `% of ${out} segments retransmitted (${retrans})${judged ? '' : `; judged from ${thresholds.retrans_min_segments} segments and ${thresholds.retrans_min_count} retransmissions`}`, findings: [] };
    }
    const eventPeers = sumBy((facts.events?.retransmits ?? []).filter((r) => r.kind === 'data'), (r) => r.remoteAddress, (r) => r.count);
    const topPeer = peers[0]?.peer ?? eventPeers[0]?.[0] ?? null;
    const critical = ratio >= thresholds.loss_percent;
    return {
      value,
      threshold: thresholds.retrans_ratio_percent,
      measure: `% of ${out} segments retransmitted (${retrans})`,
      findings: [{
        severity: critical ? 'critical' : 'warning',
        title: `${round(ratio, 2)}% of data segments retransmitted${topPeer === null ? '' : `, most toward ${topPeer}`}`,
        subject: topPeer ?? 'host',
        explanation:
          `${retrans} of ${out} segments sent in the window were retransmissions (SYN resends excluded). ` +
          `TCP resends what it believes lost, so this is the loss its connections meet; above ${thresholds.retrans_ratio_percent}% throughput drops and latency rises${critical ? `, and above ${thresholds.loss_percent}% connections stall` : ''}. ` +
          (peers.length > 0 ? `${peers.length === 1 ? 'One peer carries' : `${peers.length} peers carry`} it, ${topPeer} the most.` : 'The peers could not be told apart (no tcp_info and no kernel events).'),
        evidence: {
          retransmittedSegments: retrans,
          segmentsOut: out,
          ratioPercent: round(ratio, 3),
          hostWide: !scoped,
          synRetransmitsExcluded: view.delta('TCPSynRetrans'),
          timeouts: view.delta('TCPTimeouts'),
          fastRetransmits: view.delta('TCPFastRetrans'),
          lostRetransmits: view.delta('TCPLostRetransmit'),
          peers: peers.slice(0, 10),
          retransmitEventsByPeer: eventPeers.slice(0, 10).map(([peer, count]) => ({ peer, count })),
        },
        advice: [
          textAdvice(`Find where the loss is: the path to ${topPeer ?? 'the peers above'} (a congested or faulty link, a policer, a full queue), or this host's own interface and queues.`),
          commandAdvice('Check this host first: interface errors and drops, then queueing discipline drops.', 'ip -s link; tc -s qdisc'),
          commandAdvice('Then the path, hop by hop:', `mtr -n -T ${topPeer ?? 'PEER'}`),
          textAdvice('Tuning TCP (congestion control, buffers) does not remove loss; fix the link or the queue that drops. If only one peer shows it, the problem is on its path, not on this host.'),
        ],
      }],
    };
  },
  capture({ facts, thresholds }) {
    // Per peer, over the data segments the capture saw toward it. A peer that was sent no data
    // (a server that never answers a SYN) is not judged here: its resends are syn-sent-unanswered's.
    const peers = facts.capture!.peers
      .filter((p) => p.dataSegments >= thresholds.retrans_min_segments && p.retransmissions >= thresholds.retrans_min_count)
      .map((p) => ({ ...p, ratio: (100 * p.retransmissions) / p.dataSegments }))
      .sort((a, b) => b.ratio - a.ratio);
    const worst = peers[0]?.ratio ?? 0;
    const findings: FindingDraft[] = peers.filter((p) => p.ratio >= thresholds.retrans_ratio_percent).slice(0, 5).map((p) => ({
      severity: p.ratio >= thresholds.loss_percent ? 'critical' : 'warning',
      title: `${round(p.ratio, 2)}% of data segments toward ${p.address} retransmitted (${p.retransmissions} of ${p.dataSegments})`,
      subject: p.address,
      explanation: `Toward ${p.address} the capture shows ${p.retransmissions} retransmissions for ${p.dataSegments} data segments. TCP resends what it believes lost, so this is the loss on that path (or at that receiver); above ${thresholds.retrans_ratio_percent}% throughput drops and latency rises.`,
      evidence: { peer: p.address, retransmissions: p.retransmissions, dataSegments: p.dataSegments, ratioPercent: round(p.ratio, 3) },
      advice: [
        textAdvice(`Find where the loss is on the path to ${p.address}: a congested or faulty link, a policer, a full queue, or the receiver itself.`),
        commandAdvice('Look at the path hop by hop:', `mtr -n -T ${p.address}`),
      ],
    }));
    return { value: round(worst, 3), threshold: thresholds.retrans_ratio_percent, measure: '% of data segments retransmitted toward the worst peer', findings };
  },
};
