/**
 * time-wait-backlog: too many connections waiting out TIME_WAIT, per local/remote pair.
 *
 * Why it fires: the side that closes first holds the connection in TIME_WAIT for 60 s
 * (TCP_TIMEWAIT_LEN, include/net/tcp.h; RFC 9293 section 3.6.1 asks for 2 MSL) so that late
 * segments of the old connection cannot corrupt a new one on the same 4-tuple. Each one holds a
 * port toward its destination and a bucket of net.ipv4.tcp_max_tw_buckets; when the buckets run
 * out the kernel closes new ones at once and counts TCPTimeWaitOverflow ("time wait bucket table
 * overflow", inet_twsk_alloc() in net/ipv4/inet_timewait_sock.c). A client that opens a
 * connection per request piles TIME_WAIT up toward each destination until connect() finds no
 * free port. Who closes first decides where it piles up: a local ephemeral port means this host
 * is the client and closed first; a local listening port means the server closed first.
 * tcp_tw_reuse (Documentation/networking/ip-sysctl.rst) lets connect() reuse such a port for a
 * new outgoing connection when timestamps make it safe (RFC 7323 PAWS); it does nothing for a
 * server. tcp_tw_recycle was removed in Linux 4.12 because it broke clients behind NAT.
 */
import type { TcpSocket } from '../../model/socket.js';
import { humanMs, plural, sysctlAdvice, textAdvice } from '../advice.js';
import type { Rule } from '../rule.js';
import { groupBy, isLoopback, percent, remoteText, listenerText, minOf } from '../view.js';
import type { FactsView } from '../view.js';

const TIMEWAIT_LEN_MS = 60_000;

interface Pair {
  readonly closer: 'this host (client)' | 'this host (server)';
  readonly local: string;
  readonly remote: string;
  readonly remoteAddress: string;
  readonly count: number;
  /** Share of the ephemeral port range this pair holds (client side only). */
  readonly portsPercent: number | null;
}

/** Whether connect() may reuse a TIME_WAIT port toward this destination (tcp_tw_reuse 1, or 2 for loopback). */
export function twReuseApplies(view: FactsView, remoteAddress: string): boolean {
  const reuse = view.sysctlNumber('net.ipv4.tcp_tw_reuse');
  return reuse === 1 || (reuse === 2 && isLoopback(remoteAddress));
}

function pairsOf(view: FactsView, sockets: readonly TcpSocket[]): Pair[] {
  const range = view.portRange;
  const groups = groupBy(sockets, (s) => {
    const listener = view.listenerOf(s);
    return listener !== null ? `server\t${listenerText(listener)}\t${s.remote.address}` : `client\t${s.local.address}\t${remoteText(s)}`;
  });
  const pairs: Pair[] = [];
  for (const [key, group] of groups) {
    const [side, local = '', remote = ''] = key.split('\t');
    const client = side === 'client';
    pairs.push({
      closer: client ? 'this host (client)' : 'this host (server)',
      local,
      remote,
      remoteAddress: group[0]!.remote.address,
      count: group.length,
      portsPercent: client && range !== null ? percent(group.length, range.size) : null,
    });
  }
  return pairs.sort((a, b) => b.count - a.count);
}

export const timeWaitBacklog: Rule = {
  id: 'time-wait-backlog',
  summary: 'TIME_WAIT piling up per local/remote pair, against tcp_max_tw_buckets and the port range',
  needs: ['sockets', 'counters', 'sysctls'],
  logPatterns: [/cannot assign requested address|EADDRNOTAVAIL/i, /time ?wait/i],
  evaluate({ view, thresholds }) {
    const sockets = view.byState('TIME_WAIT');
    const total = sockets.length;
    const buckets = view.sysctlNumber('net.ipv4.tcp_max_tw_buckets');
    const overflow = view.delta('TCPTimeWaitOverflow');
    const bucketLimit = buckets === null ? Infinity : (buckets * thresholds.capacity_percent) / 100;
    const limit = Math.min(thresholds.time_wait_max, bucketLimit);
    const pairs = pairsOf(view, sockets);
    const crowded = pairs.filter((p) => p.portsPercent !== null && p.portsPercent >= thresholds.capacity_percent && !twReuseApplies(view, p.remoteAddress));
    const fires = overflow > 0 || total >= limit || crowded.length > 0;
    if (!fires) return { value: total, threshold: Math.round(limit), measure: 'TIME_WAIT sockets', findings: [] };
    const clientSide = pairs.filter((p) => p.closer === 'this host (client)').reduce((n, p) => n + p.count, 0);
    const serverSide = total - clientSide;
    const soonest = minOf(sockets, (s) => s.timer.expiresMs ?? Infinity);
    const oldestAgeMs = soonest === Infinity ? null : Math.max(0, TIMEWAIT_LEN_MS - soonest);
    const topPair = pairs[0];
    const reuse = view.sysctlText('net.ipv4.tcp_tw_reuse');
    const advice = [
      textAdvice('Reuse connections instead of opening one per request: HTTP keep-alive, a connection pool, gRPC channels. TIME_WAIT is the price of each close, paid by the side that closes first.'),
    ];
    if (clientSide > 0 && reuse !== '1') {
      advice.push(sysctlAdvice('net.ipv4.tcp_tw_reuse', reuse, '1',
        'Let connect() reuse a TIME_WAIT port toward the same destination when TCP timestamps make it safe. It helps outgoing connections only (this host as the client), needs net.ipv4.tcp_timestamps=1, and does nothing for a server\'s TIME_WAIT.'));
    }
    if (serverSide > 0) {
      advice.push(textAdvice('This server closes first: let clients close (HTTP/1.1 keep-alive, no "Connection: close" from the server) so TIME_WAIT stays on the clients, spread over their addresses.'));
    }
    if (overflow > 0 && buckets !== null) {
      advice.push(sysctlAdvice('net.ipv4.tcp_max_tw_buckets', String(buckets), String(buckets * 2),
        'Raise the bucket limit so TIME_WAIT is not cut short (each bucket is a few hundred bytes). Do not do it instead of pooling connections: it only moves the limit.'));
    }
    advice.push(textAdvice('Never look for net.ipv4.tcp_tw_recycle: Linux 4.12 removed it because it dropped connections from clients behind NAT.'));
    return {
      value: total,
      threshold: Math.round(limit),
      measure: 'TIME_WAIT sockets',
      findings: [{
        severity: overflow > 0 || crowded.some((p) => (p.portsPercent ?? 0) >= 95) ? 'critical' : 'warning',
        title: `${plural(total, 'connection')} in TIME_WAIT${topPair ? `, most between ${topPair.local} and ${topPair.remote}` : ''}`,
        subject: topPair ? `${topPair.local} -> ${topPair.remote}` : 'host',
        explanation:
          `The side that closes a connection first keeps it in TIME_WAIT for ${humanMs(TIMEWAIT_LEN_MS)} (TCP_TIMEWAIT_LEN). ` +
          `${clientSide} of them were closed first by this host as the client, ${serverSide} as the server. ` +
          (overflow > 0 ? `The kernel ran out of TIME_WAIT buckets ${plural(overflow, 'time')} in the window and closed connections without it. ` : '') +
          (crowded.length > 0 ? `Toward ${crowded[0]!.remote} they hold ${crowded[0]!.portsPercent}% of the ephemeral port range: new connections there will fail with EADDRNOTAVAIL. ` : '') +
          'Each one costs a port toward its destination and a bucket of tcp_max_tw_buckets.',
        evidence: {
          count: total,
          hostTimewait: view.gauge('SockstatTw'),
          maxTwBuckets: buckets,
          timeWaitOverflow: overflow,
          closedFirstByClient: clientSide,
          closedFirstByServer: serverSide,
          pairs: pairs.slice(0, 10),
          oldestAgeMs,
          portRange: view.portRange,
          tcpTwReuse: reuse,
        },
        advice,
      }],
    };
  },
};
