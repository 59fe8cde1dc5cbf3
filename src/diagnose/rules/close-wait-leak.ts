/**
 * close-wait-leak: the application does not close sockets the peer has closed.
 *
 * Why it fires: when the peer's FIN arrives the kernel moves the socket to CLOSE_WAIT (tcp_fin()
 * in net/ipv4/tcp_input.c; RFC 9293 section 3.6) and then waits for the application to call
 * close(). No timer ends CLOSE_WAIT: the socket, its file descriptor and its buffers stay for as
 * long as the process holds them. A healthy application reads EOF and closes within
 * milliseconds, so sockets that stay in CLOSE_WAIT, idle, through a whole window are a leak in
 * the process that owns them — and it keeps growing until the process hits its open-files limit.
 * A half-closed protocol that keeps sending after the peer's FIN is not a leak: sockets that sent
 * data during the window are not counted as stuck.
 */
import type { TcpSocket } from '../../model/socket.js';
import { humanMs, plural, textAdvice, commandAdvice } from '../advice.js';
import type { FindingDraft, Rule } from '../rule.js';
import { countBy, groupBy, listenerText, localText, ownersEvidence, top } from '../view.js';
import type { FactsView } from '../view.js';

function stuck(view: FactsView, s: TcpSocket): boolean {
  if (!view.heldThroughWindow(s)) return false;
  // Sent nothing during the window (tcpi_last_data_sent): not a half-close still streaming.
  return s.tcpInfo === null || s.tcpInfo.lastSendMs >= view.windowMs;
}

export const closeWaitLeak: Rule = {
  id: 'close-wait-leak',
  summary: 'sockets the application never closes after the peer closed (CLOSE_WAIT)',
  needs: ['sockets'],
  logPatterns: [/too many open files|EMFILE/i, /CLOSE_WAIT/i, /leak/i],
  evaluate({ view, thresholds }) {
    const sockets = view.byState('CLOSE_WAIT');
    const groups = groupBy(sockets, (s) => (s.pid === null ? 'unknown' : String(s.pid)));
    const findings: FindingDraft[] = [];
    let worst = 0;
    for (const [pid, group] of groups) {
      const held = group.filter((s) => stuck(view, s));
      worst = Math.max(worst, held.length);
      const many = group.length >= thresholds.close_wait_max;
      if (held.length < thresholds.close_wait_stuck_min && !many) continue;
      // The start table has no owners: count this group's sockets that were already in CLOSE_WAIT then.
      const startCount = group.filter((s) => view.heldThroughWindow(s)).length;
      const first = group[0]!;
      const processName = pid === 'unknown' ? null : first.process ?? '?';
      const listeners = countBy(group, (s) => {
        const l = view.listenerOf(s);
        return l === null ? `${localText(s)} (outgoing)` : listenerText(l);
      });
      const peers = countBy(group, (s) => s.remote.address);
      const idle = group.map((s) => s.tcpInfo?.lastReceiveMs ?? 0);
      const oldestIdleMs = Math.max(0, ...idle);
      const growing = group.length > startCount;
      const who = processName === null ? 'an unknown process (run as root to see owners)' : `${processName} (pid ${pid})`;
      findings.push({
        severity: many && held.length >= thresholds.close_wait_stuck_min && growing ? 'critical' : 'warning',
        title: `${who} does not close ${plural(group.length, 'socket')} the peer closed (CLOSE_WAIT)`,
        subject: processName === null ? listeners[0]![0] : `${processName}[${pid}]`,
        explanation:
          `The peers sent FIN, so the kernel put these sockets in CLOSE_WAIT and is waiting for the application to call close(). ` +
          `Nothing times CLOSE_WAIT out: each socket keeps its file descriptor and buffers until the process closes it. ` +
          `${plural(held.length, 'socket')} stayed there, sending nothing, for the whole ${humanMs(view.windowMs)} window, ` +
          `so ${who} reads end-of-file (or never reads) and does not close. The count grows until the process runs out of file descriptors.`,
        evidence: {
          process: processName === null ? null : { pid: Number(pid), process: processName },
          owners: ownersEvidence(group),
          count: group.length,
          alreadyAtStart: startCount,
          stuckThroughWindow: held.length,
          listeners: top(listeners, 5, 'listener'),
          peers: top(peers, 10, 'peer'),
          oldestIdleMs,
          ageAtLeastMs: held.length > 0 ? view.windowMs : 0,
        },
        advice: [
          textAdvice(
            `Fix ${processName ?? 'the application'}: close the socket when a read returns 0 (end-of-file) or fails, and let connection pools evict connections the server has closed. ` +
              'No sysctl shortens CLOSE_WAIT (tcp_fin_timeout applies to FIN_WAIT2 only), so do not tune the kernel for this.',
          ),
          commandAdvice('List them with the owning process:', pid === 'unknown' ? 'ss -tnp state close-wait' : `ss -tnp state close-wait | grep 'pid=${pid},'`),
          textAdvice(`Restarting ${processName ?? 'the process'} releases the sockets only until the leak refills them; do it to buy time, not as the fix.`),
        ],
      });
    }
    return { value: worst, threshold: thresholds.close_wait_stuck_min, measure: 'CLOSE_WAIT sockets one process held idle through the window', findings };
  },
};
