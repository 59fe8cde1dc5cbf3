/**
 * sysctl-tcp_syncookies: SYN cookies off while SYNs are being dropped on a full queue.
 *
 * Why it fires: with net.ipv4.tcp_syncookies=0, a full SYN queue means tcp_conn_request()
 * (net/ipv4/tcp_input.c) drops new SYNs (TCPReqQFullDrop), and it starts dropping already when
 * less than a quarter of tcp_max_syn_backlog is left; with 1 (the default) it answers them with a
 * cookie that needs no queue slot (Documentation/networking/ip-sysctl.rst). Drops of real
 * handshakes with cookies off contradict the setting; it fires on that observation only.
 */
import { sysctlAdvice } from '../advice.js';
import type { Rule } from '../rule.js';
import { floodedQueues } from './syn-flood.js';
import { listenerText } from '../view.js';

export const sysctlTcpSyncookies: Rule = {
  id: 'sysctl-tcp_syncookies',
  summary: 'tcp_syncookies off while the SYN queue is full and SYNs are dropped',
  needs: ['sockets', 'counters', 'sysctls'],
  evaluate({ view, thresholds }) {
    const current = view.sysctlText('net.ipv4.tcp_syncookies');
    const drops = view.delta('TCPReqQFullDrop');
    const flooded = floodedQueues(view, thresholds.capacity_percent);
    const off = current === '0';
    if (!off || (drops === 0 && flooded.length === 0)) {
      return { value: current, threshold: '1', measure: `net.ipv4.tcp_syncookies (SYNs dropped on a full queue: ${drops})`, findings: [] };
    }
    return {
      value: current,
      threshold: '1',
      measure: `net.ipv4.tcp_syncookies (SYNs dropped on a full queue: ${drops})`,
      findings: [{
        severity: 'critical',
        title: `SYN cookies are off while ${drops > 0 ? `${drops} SYNs were dropped on a full queue` : 'a SYN queue is full'}`,
        subject: 'net.ipv4.tcp_syncookies',
        explanation: 'With tcp_syncookies=0 the kernel drops SYNs once the half-open queue is full, so real clients cannot connect during a flood or a burst. With 1 it answers them with cookies that need no queue slot, and only when the queue overflows.',
        evidence: { tcpSyncookies: current, reqQueueFullDrops: drops, listeners: flooded.map((q) => ({ listener: listenerText(q.listener), synRecv: q.synRecv, backlog: q.backlog })) },
        advice: [sysctlAdvice('net.ipv4.tcp_syncookies', current, '1', 'Turn cookies on (the kernel default). Cookies cannot carry every TCP option of the SYN (window scaling and SACK survive only with timestamps), which is why they are used only on overflow.')],
      }],
    };
  },
};
