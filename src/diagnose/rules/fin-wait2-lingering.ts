/**
 * fin-wait2-lingering: peers that never close their side.
 *
 * Why it fires: after this host closes (FIN sent and acknowledged) the connection waits in
 * FIN_WAIT2 for the peer's FIN (RFC 9293 section 3.6). If the application has let go of the
 * socket (an orphan), the kernel gives the peer net.ipv4.tcp_fin_timeout seconds (60 by default,
 * TCP_FIN_TIMEOUT in include/net/tcp.h; tcp_time_wait() keeps it as a timewait socket with the
 * FIN_WAIT2 substate) and then drops it. If the application still holds the socket after
 * shutdown(SHUT_WR), no timer runs at all. Either way, many FIN_WAIT2 sockets toward one peer
 * that outlive a whole window mean that peer's application reads our FIN and does not close —
 * its side is then in CLOSE_WAIT, which this host can show when the peer is local.
 */
import { humanMs, plural, sysctlAdvice, textAdvice } from '../advice.js';
import type { FindingDraft, Rule } from '../rule.js';
import { groupBy, ownerOf, ownersEvidence, remoteText } from '../view.js';

export const finWait2Lingering: Rule = {
  id: 'fin-wait2-lingering',
  summary: 'connections this host closed whose peer never sends its FIN (FIN_WAIT2)',
  needs: ['sockets', 'sysctls'],
  logPatterns: [/timed? ?out|ETIMEDOUT/i],
  evaluate({ view, thresholds }) {
    const held = view.byState('FIN_WAIT2').filter((s) => view.heldThroughWindow(s));
    const findings: FindingDraft[] = [];
    let worst = 0;
    const finTimeout = view.sysctlText('net.ipv4.tcp_fin_timeout');
    for (const [peer, group] of groupBy(held, (s) => s.remote.address)) {
      worst = Math.max(worst, group.length);
      if (group.length < thresholds.fin_wait2_stuck_min) continue;
      // Orphans have no file (inode 0): the kernel holds them for tcp_fin_timeout.
      const orphaned = group.filter((s) => s.inode === 0).length;
      const localPeers = group.map((s) => view.peerOf(s)).flatMap((p) => (p === undefined ? [] : [p]));
      const peerProcesses = ownersEvidence(localPeers);
      const peerStates = [...new Set(localPeers.map((p) => p.state))];
      const peerName = peerProcesses[0] === undefined ? peer : `${peerProcesses[0].process} (pid ${peerProcesses[0].pid}) at ${peer}`;
      const advice = [
        textAdvice(`Fix the peer ${peerName}: it receives this host's FIN and never closes its side${peerStates.includes('CLOSE_WAIT') ? ' (its sockets sit in CLOSE_WAIT)' : ''}.`),
      ];
      if (orphaned > 0) {
        advice.push(sysctlAdvice('net.ipv4.tcp_fin_timeout', finTimeout, '30',
          'Shorten how long an orphaned FIN_WAIT2 waits for the peer. It applies only to sockets the application has closed; it cannot help sockets still held after shutdown(), and it does not change TIME_WAIT.'));
      }
      if (orphaned < group.length) {
        advice.push(textAdvice(`${plural(group.length - orphaned, 'socket')} are still held by ${ownersEvidence(group)[0]?.process ?? 'the application'} after shutdown(): close() them after a deadline, since no kernel timer will.`));
      }
      findings.push({
        severity: 'warning',
        title: `${plural(group.length, 'connection')} to ${peerName} wait for a FIN that never comes (FIN_WAIT2)`,
        subject: peer,
        explanation:
          `This host closed these connections and the peer acknowledged the FIN, but for the whole ${humanMs(view.windowMs)} window it never closed its own side. ` +
          `${plural(orphaned, 'orphaned socket')} (closed by the application) live until tcp_fin_timeout (${finTimeout ?? '?'} s); ` +
          `${plural(group.length - orphaned, 'socket')} still held by an application wait with no timer at all.`,
        evidence: {
          peer,
          count: group.length,
          orphaned,
          heldByApplication: group.length - orphaned,
          owners: ownersEvidence(group),
          connections: group.slice(0, 10).map((s) => ({ local: `${s.local.address}:${s.local.port}`, remote: remoteText(s), owner: ownerOf(s) })),
          peerProcesses,
          peerStates,
          tcpFinTimeoutS: finTimeout === null ? null : Number(finTimeout),
        },
        advice,
      });
    }
    return { value: worst, threshold: thresholds.fin_wait2_stuck_min, measure: 'FIN_WAIT2 sockets toward one peer held through the window', findings };
  },
};
