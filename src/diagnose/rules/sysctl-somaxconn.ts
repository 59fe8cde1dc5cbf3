/**
 * sysctl-somaxconn: net.core.somaxconn below the backlog an application asks for, shown by a
 * listener that overflows at exactly that backlog.
 *
 * Why it fires: listen(fd, backlog) silently takes min(backlog, somaxconn) (__sys_listen() in
 * net/socket.c), so an application that asks for more gets somaxconn and nothing says so. A
 * listener whose backlog equals somaxconn and whose accept queue is full or near it in the
 * window is that case; a listener that asked for less is not (raising somaxconn would not
 * change it). Never generic advice: it fires only on that observation.
 */
import { sysctlAdvice } from '../advice.js';
import type { Rule } from '../rule.js';
import { listenerText } from '../view.js';
import { acceptPressure } from './listen-overflow.js';

export const sysctlSomaxconn: Rule = {
  id: 'sysctl-somaxconn',
  summary: 'a listener overflowing at a backlog capped by net.core.somaxconn',
  needs: ['sockets', 'counters', 'sysctls'],
  logPatterns: [/timed? ?out|ETIMEDOUT/i],
  evaluate({ view, thresholds }) {
    const somaxconn = view.sysctlText('net.core.somaxconn');
    const capped = acceptPressure(view, thresholds.capacity_percent).filter((p) => p.cappedBySomaxconn && (p.full || p.heldThroughWindow));
    const value = capped.length;
    if (capped.length === 0) return { value, threshold: 1, measure: 'listeners at a somaxconn-capped backlog and full', findings: [] };
    const where = capped.map((p) => listenerText(p.listener));
    const suggested = String(Math.max(4096, Number(somaxconn ?? '0') * 4));
    return {
      value,
      threshold: 1,
      measure: 'listeners at a somaxconn-capped backlog and full',
      findings: [{
        severity: 'warning',
        title: `net.core.somaxconn (${somaxconn}) caps the backlog of ${where.join(', ')}, which is full`,
        subject: 'net.core.somaxconn',
        explanation: `${where.length === 1 ? 'This listener has' : 'These listeners have'} a backlog of exactly net.core.somaxconn, the cap the kernel puts on listen() without a word, and the accept queue is full or nearly so. The application most likely asked for more.`,
        evidence: {
          somaxconn: Number(somaxconn),
          listeners: capped.map((p) => ({ listener: listenerText(p.listener), backlog: p.backlog, acceptQueue: p.listener.acceptQueue, process: p.listener.pid === null ? null : { pid: p.listener.pid, process: p.listener.process } })),
          listenOverflows: view.delta('ListenOverflows'),
        },
        advice: [sysctlAdvice('net.core.somaxconn', somaxconn, suggested, 'Raise the cap (the application\'s own listen() backlog still applies; restart the listener or have it call listen() again). It absorbs bursts; it cannot fix an acceptor that is always too slow.')],
      }],
    };
  },
};
