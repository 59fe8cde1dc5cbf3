/**
 * listen-overflow: a listener's accept queue is full, so completed handshakes are thrown away.
 *
 * Why it fires: a handshake that completes waits in the listener's accept queue until the
 * application calls accept(). The queue holds the listen() backlog, capped by net.core.somaxconn
 * (__sys_listen() in net/socket.c); when sk_acceptq_is_full() (include/net/sock.h:
 * sk_ack_backlog > sk_max_ack_backlog) the kernel drops the client's final ACK and counts
 * ListenOverflows and ListenDrops (tcp_v4_syn_recv_sock() in net/ipv4/tcp_ipv4.c). The client
 * believes it is connected and waits; its request is answered late (after SYN-ACK resends) or
 * never. sock_diag shows, per listener, the queue (idiag_rqueue) and the backlog (idiag_wqueue),
 * so the full listener and the process that does not accept fast enough can be named.
 */
import { humanMs, plural, sysctlAdvice, textAdvice } from '../advice.js';
import type { FindingDraft, Rule } from '../rule.js';
import { listenerText, percent } from '../view.js';
import type { FactsView } from '../view.js';
import type { ListenerSummary } from '../../analysis/listeners.js';
import { acceptQueueFull } from './syn-flood.js';

export interface AcceptPressure {
  readonly listener: ListenerSummary;
  readonly backlog: number;
  readonly fullPercent: number;
  readonly full: boolean;
  /** The queue was at or above capacity at the start of the window too. */
  readonly heldThroughWindow: boolean;
  /** The backlog equals net.core.somaxconn: the application probably asked for more. */
  readonly cappedBySomaxconn: boolean;
}

export function acceptPressure(view: FactsView, capacityPercent: number): AcceptPressure[] {
  return view.derive(`accept:${capacityPercent}`, (v) => {
    const somaxconn = v.sysctlNumber('net.core.somaxconn');
    const start = new Map(v.startListeners.map((l) => [`${l.family}/${l.local.address}/${l.local.port}`, l]));
    return v.listeners.filter((l) => v.listenerInScope(l) && l.backlog !== null).flatMap((listener) => {
      const backlog = listener.backlog!;
      const fullPercent = percent(listener.acceptQueue, Math.max(1, backlog));
      if (fullPercent < capacityPercent) return [];
      const before = start.get(`${listener.family}/${listener.local.address}/${listener.local.port}`);
      return [{
        listener,
        backlog,
        fullPercent,
        full: acceptQueueFull(listener),
        heldThroughWindow: before !== undefined && percent(before.acceptQueue, Math.max(1, backlog)) >= capacityPercent,
        cappedBySomaxconn: somaxconn !== null && backlog === somaxconn,
      }];
    });
  });
}

export const listenOverflow: Rule = {
  id: 'listen-overflow',
  summary: 'accept queues full or near their backlog, ListenOverflows: the slow acceptor',
  needs: ['sockets', 'counters', 'sysctls'],
  logPatterns: [/timed? ?out|ETIMEDOUT/i, /\b50[234]\b/, /backlog|overflow/i],
  evaluate({ view, thresholds }) {
    const overflows = view.delta('ListenOverflows');
    const drops = view.delta('ListenDrops');
    const pressured = acceptPressure(view, thresholds.capacity_percent).filter((p) => p.full || p.heldThroughWindow);
    const worst = Math.max(0, ...view.listeners.filter((l) => view.listenerInScope(l) && l.backlog !== null).map((l) => percent(l.acceptQueue, Math.max(1, l.backlog!))));
    const somaxconn = view.sysctlText('net.core.somaxconn');
    const findings: FindingDraft[] = [];
    for (const p of pressured) {
      const where = listenerText(p.listener);
      const owner = p.listener.pid === null ? null : { pid: p.listener.pid, process: p.listener.process ?? '?' };
      const cpu = owner === null ? undefined : view.process(owner.pid)?.cpuPercent;
      const who = owner === null ? 'the owning process' : `${owner.process} (pid ${owner.pid})`;
      const suggested = String(Math.max(4096, p.backlog * 4));
      findings.push({
        severity: p.full && overflows > 0 ? 'critical' : 'warning',
        title: `${where}: accept queue ${p.full ? 'full' : `at ${p.fullPercent}%`} (${p.listener.acceptQueue} waiting, backlog ${p.backlog})${overflows > 0 ? `, ${plural(overflows, 'handshake')} dropped` : ''}`,
        subject: where,
        explanation:
          `Connections to ${where} complete their handshake and then wait for ${who} to accept() them. ` +
          `The queue holds ${p.backlog} (the listen() backlog${p.cappedBySomaxconn ? `, capped by net.core.somaxconn = ${somaxconn}` : ''}) and ${p.listener.acceptQueue} are waiting` +
          `${p.heldThroughWindow ? ` — it was already this full ${humanMs(view.windowMs)} ago` : ''}. ` +
          (overflows > 0
            ? `When it is full the kernel drops the client's final ACK: ${plural(overflows, 'overflow')} (ListenOverflows) in the window. Those clients think they are connected and wait for a SYN-ACK resend or time out.`
            : 'Once it is full, further handshakes are dropped (ListenOverflows).'),
        evidence: {
          listener: where,
          process: owner,
          acceptQueue: p.listener.acceptQueue,
          backlog: p.backlog,
          fullPercent: p.fullPercent,
          full: p.full,
          heldThroughWindow: p.heldThroughWindow,
          established: p.listener.established,
          synRecv: p.listener.synRecv,
          listenOverflows: overflows,
          listenDrops: drops,
          somaxconn: somaxconn === null ? null : Number(somaxconn),
          cappedBySomaxconn: p.cappedBySomaxconn,
          acceptorCpuPercent: cpu ?? null,
        },
        advice: [
          textAdvice(`Make ${who} accept faster: more worker processes or threads, an event loop that is not blocked${cpu != null && cpu >= 90 ? ` (it used ${cpu}% of a core in the window: it is saturated)` : ''}, or SO_REUSEPORT listeners spread over cores.`),
          p.cappedBySomaxconn
            ? sysctlAdvice('net.core.somaxconn', somaxconn, suggested, 'The backlog is capped by somaxconn: raise it (and the application\'s listen() backlog) to absorb bursts. A deeper queue only adds latency when the acceptor is slower than arrivals all the time.')
            : textAdvice(`Raise the application's listen() backlog (now ${p.backlog}; net.core.somaxconn = ${somaxconn ?? '?'} caps it) to absorb bursts. A deeper queue only adds latency when the acceptor is slower than arrivals all the time.`),
          textAdvice('Leave net.ipv4.tcp_abort_on_overflow at 0: setting it resets clients instead of letting them retry, which turns a slow moment into errors.'),
        ],
      });
    }
    if (pressured.length === 0 && overflows > 0) {
      findings.push({
        severity: 'warning',
        title: `${plural(overflows, 'handshake')} dropped on a full accept queue (ListenOverflows), listener not caught`,
        subject: 'host',
        explanation: 'The kernel counted accept-queue overflows in the window, but no listener in scope was full when the table was read: the queue drains between bursts. Run the diagnosis again during a burst, or watch `ss -ltn` (Recv-Q against Send-Q).',
        evidence: { listenOverflows: overflows, listenDrops: drops, somaxconn: somaxconn === null ? null : Number(somaxconn) },
        advice: [textAdvice('Find the listener whose Recv-Q reaches its Send-Q during bursts and make its process accept faster or raise its backlog.')],
      });
    }
    return { value: worst, threshold: thresholds.capacity_percent, measure: `% of a listener's backlog waiting for accept() (ListenOverflows ${overflows})`, findings };
  },
};
