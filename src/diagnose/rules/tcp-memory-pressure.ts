/**
 * tcp-memory-pressure: TCP buffer memory against net.ipv4.tcp_mem.
 *
 * Why it fires: tcp_mem is three page counts, low, pressure and high
 * (Documentation/networking/ip-sysctl.rst). Above "pressure" the kernel enters memory pressure
 * (tcp_enter_memory_pressure() in net/ipv4/tcp.c, counted as TCPMemoryPressures): it stops
 * growing buffers, shrinks windows and prunes receive queues, so every connection slows down.
 * At "high" new buffer allocations fail and connections are dropped ("out of memory -- consider
 * tuning tcp_mem"). sockstat's mem is the pages TCP holds now; the window's pressure events come
 * from TCPMemoryPressures.
 */
import { sysctlAdvice, textAdvice } from '../advice.js';
import type { Rule } from '../rule.js';
import { percent } from '../view.js';
import { NOT_IN_THIS_NAMESPACE } from './orphan-sockets.js';

export const tcpMemoryPressure: Rule = {
  id: 'tcp-memory-pressure',
  summary: 'pages of TCP buffer memory against net.ipv4.tcp_mem pressure and high',
  needs: ['counters', 'sysctls'],
  logPatterns: [/out of memory|tcp_mem/i],
  evaluate({ view }) {
    const pages = view.gauge('SockstatMem');
    const pressure = view.sysctlNumber('net.ipv4.tcp_mem', 1);
    const high = view.sysctlNumber('net.ipv4.tcp_mem', 2);
    if (pressure === null || high === null) return { skip: NOT_IN_THIS_NAMESPACE('net.ipv4.tcp_mem') };
    if (pages === null) return { skip: 'TCP memory in use (/proc/net/sockstat) could not be read' };
    const events = view.delta('TCPMemoryPressures');
    const used = percent(pages, pressure);
    if (pages < pressure && events === 0) return { value: used, threshold: 100, measure: `% of tcp_mem's pressure level (${pages} pages)`, findings: [] };
    const tcpMem = view.sysctlText('net.ipv4.tcp_mem');
    return {
      value: used,
      threshold: 100,
      measure: `% of tcp_mem's pressure level (${pages} pages)`,
      findings: [{
        severity: pages >= high ? 'critical' : 'warning',
        title: `TCP holds ${pages} pages of buffer memory (tcp_mem pressure ${pressure}, high ${high})${events > 0 ? `; ${events} pressure episodes in the window` : ''}`,
        subject: 'host',
        explanation:
          `Above ${pressure} pages the kernel is under TCP memory pressure: it stops growing buffers and shrinks windows, so every connection slows. ` +
          (pages >= high ? `At ${high} pages allocations fail and connections are dropped; the host is there now.` : `At ${high} pages allocations fail.`),
        evidence: { pages, bytes: pages * 4096, tcpMem, pressurePages: pressure, highPages: high, memoryPressures: events, pruneCalled: view.delta('PruneCalled'), rcvPruned: view.delta('RcvPruned') },
        advice: [
          textAdvice('Find what holds the memory: sockets with large Recv-Q (readers that do not read) or Send-Q (peers that do not read) — `ss -tnm` shows each socket\'s buffers.'),
          sysctlAdvice('net.ipv4.tcp_mem', tcpMem, `${(view.sysctlNumber('net.ipv4.tcp_mem', 0) ?? pressure) * 2} ${pressure * 2} ${high * 2}`, 'Raise the limits only when the host has the memory to spare (pages of 4 KB); it does not help when slow readers hoard buffers.'),
        ],
      }],
    };
  },
};
