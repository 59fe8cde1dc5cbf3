/**
 * syn-flood: half-open connections filling a listener's SYN queue.
 *
 * Why it fires: each SYN to a listener creates a request sock in SYN_RECV that waits for the
 * client's ACK, resending the SYN-ACK net.ipv4.tcp_synack_retries times (5: about 63 s). The
 * queue of request socks is bounded by the listener's backlog (inet_csk_reqsk_queue_is_full()
 * in include/net/inet_connection_sock.h); once full, tcp_conn_request() (net/ipv4/tcp_input.c)
 * either answers with SYN cookies (tcp_syncookies=1: SyncookiesSent, TCPReqQFullDoCookies) or
 * drops the SYN (TCPReqQFullDrop), and with cookies off it also starts dropping when fewer than
 * a quarter of net.ipv4.tcp_max_syn_backlog remain (Documentation/networking/ip-sysctl.rst).
 * Overload and attack look alike in the queue; they differ in whether the handshakes complete:
 * real clients ACK (PassiveOpens grows, cookies come back as SyncookiesRecv), a flood's spoofed
 * or abandoned SYNs never do, so their SYN-ACKs are retransmitted (RFC 4987 describes the attack
 * and the defences).
 */
import type { ListenerSummary } from '../../analysis/listeners.js';
import type { CaptureFacts, CaptureService } from '../../model/facts.js';
import { plural, sysctlAdvice, textAdvice, commandAdvice } from '../advice.js';
import type { FindingDraft, Rule } from '../rule.js';
import { countBy, listenerText, percent, round, sumBy, top } from '../view.js';
import type { FactsView } from '../view.js';

/** Below this share of completed handshakes the SYNs are not from real clients. */
const ATTACK_MAX_COMPLETION = 0.2;
/** In a capture: SYNs to one service, and distinct attempts, before a flood is considered. */
const CAPTURE_MIN_SYN = 200;
const CAPTURE_MIN_ATTEMPTS = 100;

/** The services of a capture that received a flood of SYNs whose handshakes do not complete. */
export function floodedServices(capture: CaptureFacts): CaptureService[] {
  return capture.services.filter((s) => s.syn >= CAPTURE_MIN_SYN && s.attempts >= CAPTURE_MIN_ATTEMPTS && s.completed / Math.max(1, s.attempts) < ATTACK_MAX_COMPLETION);
}

export interface SynQueue {
  readonly listener: ListenerSummary;
  readonly synRecv: number;
  readonly backlog: number | null;
  readonly fullPercent: number | null;
  /** Request socks whose SYN-ACK was already resent: no ACK came back within 1 s. */
  readonly synAckResent: number;
  readonly sources: ReadonlyArray<[string, number]>;
}

export function synQueues(view: FactsView): SynQueue[] {
  return view.derive('synQueues', (v) => {
    const halfOpen = (v.facts.sockets?.end ?? []).filter((s) => s.state === 'SYN_RECV');
    return v.listeners.filter((l) => v.listenerInScope(l)).map((listener) => {
      const mine = halfOpen.filter((s) => v.listenerOf(s) === listener);
      return {
        listener,
        synRecv: mine.length,
        backlog: listener.backlog,
        fullPercent: listener.backlog === null || listener.backlog === 0 ? null : percent(mine.length, listener.backlog),
        synAckResent: mine.filter((s) => s.timer.retransmits >= 1).length,
        sources: countBy(mine, (s) => s.remote.address),
      };
    });
  });
}

/**
 * The SYN queues at or above capacity_percent of their backlog. A listener whose accept queue is
 * full is left out: its final ACKs are dropped (ListenOverflows), so its request socks pile up as
 * a consequence of the slow acceptor, which listen-overflow reports.
 */
export function floodedQueues(view: FactsView, capacityPercent: number): SynQueue[] {
  return synQueues(view).filter((q) => q.synRecv > 0 && (q.fullPercent ?? 0) >= capacityPercent && !acceptQueueFull(q.listener));
}

/** sk_acceptq_is_full(): sk_ack_backlog > sk_max_ack_backlog (include/net/sock.h). */
export function acceptQueueFull(l: ListenerSummary): boolean {
  return l.backlog !== null && l.acceptQueue > l.backlog;
}

export const synFlood: Rule = {
  id: 'syn-flood',
  summary: 'SYN_RECV near the backlog, SYN-ACK resends, cookies and drops: overload or attack',
  needs: ['sockets', 'counters', 'sysctls'],
  logPatterns: [/SYN flood/i, /timed? ?out|ETIMEDOUT/i],
  evaluate({ view, thresholds, facts }) {
    const cookiesSent = view.delta('SyncookiesSent');
    const cookiesRecv = view.delta('SyncookiesRecv');
    const reqFullDrop = view.delta('TCPReqQFullDrop');
    const reqFullCookies = view.delta('TCPReqQFullDoCookies');
    const completed = view.delta('PassiveOpens');
    const seconds = view.windowMs / 1000;
    const queues = synQueues(view);
    const halfOpen = queues.reduce((n, q) => n + q.synRecv, 0);
    // SYNs that reached a listener: completed, still half-open, answered by cookie, or dropped. A
    // lower bound (request socks that timed out inside the window are not seen).
    const synSeen = completed + halfOpen + cookiesSent + reqFullDrop;
    const synPerS = round(synSeen / seconds, 1);
    const flooded = floodedQueues(view, thresholds.capacity_percent);
    // Cookies or drops with no flooded queue to show for them: a flood that the end snapshot
    // missed, unless a full accept queue explains them (a slow acceptor's queue fills the same way).
    const slowAcceptor = view.delta('ListenOverflows') > 0 || view.listeners.some(acceptQueueFull);
    const hostWide = (reqFullDrop > 0 || reqFullCookies > 0) && !slowAcceptor;
    const worstPercent = Math.max(0, ...queues.map((q) => q.fullPercent ?? 0));
    const value = worstPercent;
    if (flooded.length === 0 && !hostWide && synPerS < thresholds.syn_per_s) {
      return { value, threshold: thresholds.capacity_percent, measure: '% of a listener\'s backlog in SYN_RECV', findings: [] };
    }
    const synackEvents = (facts.events?.retransmits ?? []).filter((r) => r.kind === 'synack');
    const completion = synSeen === 0 ? 1 : completed / synSeen;
    const noAckBack = cookiesSent > 0 ? cookiesRecv === 0 : completed === 0;
    const attack = completion < ATTACK_MAX_COMPLETION && noAckBack;
    const syncookies = view.sysctlText('net.ipv4.tcp_syncookies');
    const maxSynBacklog = view.sysctlText('net.ipv4.tcp_max_syn_backlog');
    const somaxconn = view.sysctlText('net.core.somaxconn');
    const targets: Array<SynQueue | null> = flooded.length > 0 ? flooded : [null];
    const findings: FindingDraft[] = targets.map((q) => {
      const where = q === null ? 'this host' : listenerText(q.listener);
      const owner = q?.listener.pid == null ? null : { pid: q.listener.pid, process: q.listener.process ?? '?' };
      const sources = q?.sources ?? [];
      const port = q?.listener.local.port;
      const synackFromEvents = synackEvents.filter((r) => port === undefined || r.localPort === port);
      const eventSources = sumBy(synackFromEvents, (r) => r.remoteAddress, (r) => r.count);
      const advice = [];
      if (syncookies !== '1' && syncookies !== '2') {
        advice.push(sysctlAdvice('net.ipv4.tcp_syncookies', syncookies, '1', 'Turn SYN cookies on: when the queue is full the kernel answers with a cookie instead of dropping, so real clients still connect. It costs nothing until the queue overflows.'));
      }
      advice.push(textAdvice(
        `Deepen the SYN queue: in this kernel it is bounded by the listener's backlog${q?.backlog == null ? '' : ` (${q.backlog})`}, so raise the application's listen() backlog together with net.core.somaxconn (${somaxconn ?? '?'}); net.ipv4.tcp_max_syn_backlog (${maxSynBacklog ?? '?'}) matters only with cookies off. This absorbs bursts of real clients; against a flood, cookies and the firewall do the work.`,
      ));
      if (attack) {
        const source = (sources[0] ?? eventSources[0])?.[0];
        advice.push(commandAdvice(
          'Rate-limit SYNs per source at the edge (needs an inet filter table with an input chain). Not for sources behind one shared NAT, which would be limited together; against spoofed sources only cookies help.',
          `nft add rule inet filter input tcp dport ${port ?? 'PORT'} tcp flags syn / syn,ack meter synflood { ${source?.includes(':') ? 'ip6' : 'ip'} saddr limit rate over 100/second burst 200 packets } drop`,
        ));
      } else {
        advice.push(textAdvice('The handshakes complete: this is load, not an attack. Add capacity (workers, instances) or spread it over more listeners (SO_REUSEPORT).'));
      }
      advice.push(sysctlAdvice('net.ipv4.tcp_synack_retries', view.sysctlText('net.ipv4.tcp_synack_retries'), '2',
        'Under attack, fewer SYN-ACK resends free half-open slots sooner (2 resends: about 7 s instead of 63). Not on lossy or long paths, where real clients need the resends.'));
      return {
        severity: attack || reqFullDrop > 0 || synPerS >= thresholds.syn_per_s ? 'critical' : 'warning',
        title: `${attack ? 'SYN flood' : 'SYN queue pressure'} on ${where}: ${plural(q?.synRecv ?? halfOpen, 'half-open connection')}${q?.backlog == null ? '' : ` of a ${q.backlog} backlog`}, ${round(completion * 100, 1)}% of handshakes completed`,
        subject: where,
        explanation:
          `${q === null ? 'Listeners on this host' : `The listener ${where}`} received SYNs whose handshakes ${attack ? 'never complete' : 'complete too slowly'}: ` +
          `${plural(q?.synRecv ?? halfOpen, 'request sock')} wait in SYN_RECV${q?.synAckResent ? `, ${q.synAckResent} of them already resent their SYN-ACK` : ''}. ` +
          `When the queue is full the kernel answers with SYN cookies (${cookiesSent} sent, ${cookiesRecv} came back) or drops the SYN (${reqFullDrop} dropped). ` +
          (attack
            ? `Only ${completed} of at least ${synSeen} SYNs in the window became connections and no ACK comes back: this is an attack (or clients that vanish), not load.`
            : `${completed} of at least ${synSeen} SYNs became connections: real clients, more than the listener absorbs.`),
        evidence: {
          listener: q === null ? null : where,
          process: owner,
          synRecv: q?.synRecv ?? halfOpen,
          backlog: q?.backlog ?? null,
          backlogFullPercent: q?.fullPercent ?? null,
          synAckResent: q?.synAckResent ?? null,
          synAckRetransmitEvents: synackFromEvents.reduce((n, r) => n + r.count, 0),
          synSeenAtLeast: synSeen,
          synPerSecondAtLeast: synPerS,
          handshakesCompleted: completed,
          completionRatio: round(completion),
          syncookiesSent: cookiesSent,
          syncookiesRecv: cookiesRecv,
          reqQueueFullDrops: reqFullDrop,
          reqQueueFullCookies: reqFullCookies,
          listenDrops: view.delta('ListenDrops'),
          distinctSources: (sources.length > 0 ? sources : eventSources).length,
          topSources: top(sources.length > 0 ? sources : eventSources, 5, 'source'),
          verdict: attack ? 'attack' : 'overload',
          tcpSyncookies: syncookies,
          tcpMaxSynBacklog: maxSynBacklog,
        },
        advice,
      };
    });
    return { value, threshold: thresholds.capacity_percent, measure: '% of a listener\'s backlog in SYN_RECV', findings };
  },
  capture({ facts }) {
    // In a capture the queue is not visible, only the handshakes: many SYNs from many attempts
    // to one service that almost never complete is the flood's signature (RFC 4987).
    const capture = facts.capture!;
    const flooded = floodedServices(capture);
    const worst = Math.max(0, ...capture.services.map((s) => s.syn));
    const findings: FindingDraft[] = flooded.map((s) => {
      const where = s.address.includes(':') ? `[${s.address}]:${s.port}` : `${s.address}:${s.port}`;
      const completion = s.completed / Math.max(1, s.attempts);
      return {
        severity: 'critical',
        title: `SYN flood on ${where}: ${s.syn} SYNs from ${s.attempts} attempts, ${round(completion * 100, 1)}% of handshakes completed`,
        subject: where,
        explanation:
          `The capture holds ${s.syn} SYNs to ${where} from ${s.attempts} connection attempts and ${s.sources} source addresses, and only ${s.completed} handshakes completed: ` +
          'the clients never send the final ACK. That is an attack (or clients that vanish), not load; on the server each such SYN holds a half-open slot until its SYN-ACK resends run out.',
        evidence: {
          listener: where,
          synSeenAtLeast: s.syn,
          connectionAttempts: s.attempts,
          handshakesCompleted: s.completed,
          completionRatio: round(completion),
          distinctSources: s.sources,
          peakSynPerSecond: capture.peakSynPerSecond,
          verdict: 'attack',
        },
        advice: [
          textAdvice('On the server: keep net.ipv4.tcp_syncookies at 1 so a full SYN queue answers with cookies instead of dropping real clients, and run tcpdiag diagnose there to see the queue.'),
          commandAdvice('Rate-limit SYNs per source at the edge (needs an inet filter table with an input chain). Not for sources behind one shared NAT; against spoofed sources only cookies help.',
            `nft add rule inet filter input tcp dport ${s.port} tcp flags syn / syn,ack meter synflood { ${s.address.includes(':') ? 'ip6' : 'ip'} saddr limit rate over 100/second burst 200 packets } drop`),
        ],
      };
    });
    return { value: worst, threshold: CAPTURE_MIN_SYN, measure: 'SYNs to the busiest service in the capture', findings };
  },
};
