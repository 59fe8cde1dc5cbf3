/**
 * orphan-sockets: connections no process holds any more, against net.ipv4.tcp_max_orphans.
 *
 * Why it fires: a socket the application has closed but whose connection is still finishing
 * (FIN_WAIT1, FIN_WAIT2, CLOSING, LAST_ACK with data or a FIN still to deliver) is an orphan: the
 * kernel owns it and its memory. When orphans exceed tcp_max_orphans (tcp_too_many_orphans() in
 * include/net/tcp.h, checked by tcp_out_of_resources() in net/ipv4/tcp_timer.c and on close),
 * the kernel resets them at once, logs "too many orphaned sockets" and counts TCPAbortOnMemory.
 * Each orphan can pin up to ~64 KB of unsent data (Documentation/networking/ip-sysctl.rst), so
 * many orphans usually mean peers that stopped reading what closed sockets still want to send.
 * sockstat's orphan figure is the kernel's own count; judged at capacity_percent of the limit.
 */
import { sysctlAdvice, textAdvice } from '../advice.js';
import type { Rule } from '../rule.js';
import { percent } from '../view.js';

/** Host-wide limits exist only in the initial network namespace's /proc/sys (net/ipv4/sysctl_net_ipv4.c ipv4_table). */
export const NOT_IN_THIS_NAMESPACE = (name: string): string =>
  `${name} is host-wide and only visible from the initial network namespace: run the diagnosis there to judge it`;

export const orphanSockets: Rule = {
  id: 'orphan-sockets',
  summary: 'orphaned sockets against net.ipv4.tcp_max_orphans, and the resets the limit causes',
  needs: ['counters', 'sysctls'],
  logPatterns: [/orphan/i, /reset|ECONNRESET/i],
  evaluate({ view, thresholds }) {
    const orphans = view.gauge('SockstatOrphan');
    const max = view.sysctlNumber('net.ipv4.tcp_max_orphans');
    if (max === null) return { skip: NOT_IN_THIS_NAMESPACE('net.ipv4.tcp_max_orphans') };
    if (orphans === null || max <= 0) return { skip: 'the orphan count (/proc/net/sockstat) could not be read' };
    const used = percent(orphans, max);
    const killed = view.delta('TCPAbortOnMemory');
    if (used < thresholds.capacity_percent && killed === 0) {
      return { value: used, threshold: thresholds.capacity_percent, measure: `% of tcp_max_orphans (${orphans} orphans)`, findings: [] };
    }
    return {
      value: used,
      threshold: thresholds.capacity_percent,
      measure: `% of tcp_max_orphans (${orphans} orphans)`,
      findings: [{
        severity: killed > 0 ? 'critical' : 'warning',
        title: `${orphans} orphaned sockets of ${max} allowed (${used}%)${killed > 0 ? `, ${killed} connections reset for lack of memory or orphan slots` : ''}`,
        subject: 'host',
        explanation:
          'Sockets closed by their application but still finishing their connection belong to the kernel. ' +
          `Past net.ipv4.tcp_max_orphans (${max}) the kernel resets them at once ("too many orphaned sockets") and the peers lose the data still queued for them. ` +
          (killed > 0 ? `It did so ${killed} times in the window (TCPAbortOnMemory).` : 'The limit is close.'),
        evidence: { orphans, tcpMaxOrphans: max, usedPercent: used, abortOnMemory: killed, finWait1: view.byState('FIN_WAIT1').length, lastAck: view.byState('LAST_ACK').length, closing: view.byState('CLOSING').length },
        advice: [
          textAdvice('Find the peers that do not read what closed sockets still send (many FIN_WAIT1 or LAST_ACK sockets toward them): `ss -tn state fin-wait-1`.'),
          sysctlAdvice('net.ipv4.tcp_max_orphans', String(max), String(max * 2), 'Raise the limit only when memory allows (each orphan can pin ~64 KB); it does not fix peers that stopped reading.'),
        ],
      }],
    };
  },
};
