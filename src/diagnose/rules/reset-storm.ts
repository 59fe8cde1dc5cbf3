/**
 * reset-storm: connections torn down by RST far more often than normal, with the kernel's reasons.
 *
 * Why it fires: a healthy connection ends with FIN from both sides (RFC 9293 section 3.6); a
 * reset aborts it and the other side sees ECONNRESET or "broken pipe". The kernel counts every
 * established (or CLOSE_WAIT) connection that went straight to CLOSED as EstabResets
 * (tcp_set_state() in net/ipv4/tcp.c), whichever side sent the RST, and says why it sent its
 * own: TCPAbortOnData (closed with unread data, RFC 2525 section 2.17), TCPAbortOnClose,
 * TCPAbortOnTimeout, TCPAbortOnLinger, TCPAbortOnMemory; the tcp_send_reset tracepoint adds the
 * sk_rst_reason (include/net/rstreason.h) and the peer. Resets that answer SYNs to a closed port
 * are not counted here (conn-refused reports them). Judged when at least reset_min connections
 * were reset and they are more than reset_percent of the connections in play.
 */
import { commandAdvice, textAdvice } from '../advice.js';
import type { Rule } from '../rule.js';
import { percent, round, sumBy } from '../view.js';

const ABORTS = ['TCPAbortOnData', 'TCPAbortOnClose', 'TCPAbortOnMemory', 'TCPAbortOnTimeout', 'TCPAbortOnLinger', 'TCPAbortFailed'] as const;

export const resetStorm: Rule = {
  id: 'reset-storm',
  summary: 'established connections reset above normal, with the kernel\'s reasons and the peers',
  needs: ['counters'],
  logPatterns: [/reset|ECONNRESET|broken pipe|EPIPE/i, /\b50[234]\b/],
  evaluate({ view, facts, thresholds }) {
    const resets = view.delta('EstabResets');
    const opened = view.delta('ActiveOpens') + view.delta('PassiveOpens');
    const established = facts.counters?.gauges.CurrEstab ?? 0;
    const inPlay = Math.max(opened, established, 1);
    const share = percent(resets, inPlay);
    if (resets < thresholds.reset_min || share < thresholds.reset_percent) {
      return { value: share, threshold: thresholds.reset_percent, measure: `% of ${inPlay} connections reset (${resets})`, findings: [] };
    }
    const aborts = Object.fromEntries(ABORTS.map((name) => [name, view.delta(name)]));
    // Not the resets of refused connects: received in SYN_SENT, or sent for no socket (NO_SOCKET
    // answers SYNs to closed ports; conn-refused reports those).
    const events = (facts.events?.resets ?? []).filter((r) => !(r.direction === 'received' && r.state === 'SYN_SENT') && !(r.direction === 'sent' && r.reason === 'NO_SOCKET'));
    const reasons = sumBy(events.filter((r) => r.direction === 'sent'), (r) => r.reason ?? 'unknown', (r) => r.count);
    const peers = sumBy(events, (r) => r.remoteAddress, (r) => r.count);
    // The resetting side's own port (a server's service port when it resets its clients).
    const ports = sumBy(events.filter((r) => r.direction === 'sent'), (r) => String(r.localPort), (r) => r.count);
    const sent = events.filter((r) => r.direction === 'sent').reduce((n, r) => n + r.count, 0);
    const received = events.filter((r) => r.direction === 'received').reduce((n, r) => n + r.count, 0);
    const mainAbort = Object.entries(aborts).sort((a, b) => b[1] - a[1])[0];
    const topPeer = peers[0]?.[0];
    const cause = mainAbort !== undefined && mainAbort[1] > 0
      ? {
        TCPAbortOnData: 'this host closed sockets that still had unread data, which the kernel must answer with RST (RFC 2525)',
        TCPAbortOnClose: 'applications closed sockets while data was still arriving',
        TCPAbortOnMemory: 'the kernel ran out of TCP memory or orphan slots and killed connections',
        TCPAbortOnTimeout: 'connections gave up after their retransmissions or keepalive probes ran out',
        TCPAbortOnLinger: 'sockets closed with SO_LINGER 0 (an abortive close by design)',
        TCPAbortFailed: 'resets could not even be sent (memory)',
      }[mainAbort[0] as (typeof ABORTS)[number]]
      : received > sent ? 'the peers send the resets' : null;
    return {
      value: share,
      threshold: thresholds.reset_percent,
      measure: `% of ${inPlay} connections reset (${resets})`,
      findings: [{
        severity: share >= 4 * thresholds.reset_percent ? 'critical' : 'warning',
        title: `${resets} connections reset in ${round(view.windowMs / 1000, 1)} s (${share}% of ${inPlay})${topPeer ? `, most with ${topPeer}` : ''}`,
        subject: topPeer ?? (ports[0] === undefined ? 'host' : `port ${ports[0][0]}`),
        explanation:
          `Established connections ended with a reset instead of a FIN: the application on the other side sees ECONNRESET or a broken pipe, and any data in flight is lost. ` +
          (cause === null ? '' : `The kernel's counters point at the cause: ${cause}.`),
        evidence: {
          establishedResets: resets,
          connectionsInPlay: inPlay,
          resetPercent: share,
          outRsts: view.delta('OutRsts'),
          aborts,
          resetEventsSent: sent,
          resetEventsReceived: received,
          reasons: reasons.slice(0, 8).map(([reason, count]) => ({ reason, count })),
          peers: peers.slice(0, 10).map(([peer, count]) => ({ peer, count })),
          localPorts: ports.slice(0, 5).map(([port, count]) => ({ port: Number(port), count })),
        },
        advice: [
          textAdvice(mainAbort?.[0] === 'TCPAbortOnData'
            ? 'Read (or shut down reading) before close(): closing with unread data makes the kernel reset the connection. Common with servers that answer before reading the whole request.'
            : 'Find which side resets: the peers and ports above; a proxy or load balancer that times out idle or slow connections resets both ends.'),
          commandAdvice('Watch the resets with their reasons and sockets as they happen:', 'tcpdiag trace resets'),
          textAdvice('If the resets are deliberate (SO_LINGER 0 to avoid TIME_WAIT, a load balancer draining), this finding is expected; keep it in mind when reading client errors.'),
        ],
      }],
    };
  },
};
