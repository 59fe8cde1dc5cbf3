/**
 * slow-connection-attack: one source holding many long-lived, nearly idle connections to a
 * listener (slowloris, slow HTTP).
 *
 * Why it fires: a server that gives each connection a worker or a slot until the request is
 * complete can be exhausted without bandwidth: the attacker opens many connections, sends a
 * request a few bytes at a time (or nothing) and never finishes, so the server never answers.
 * What sets it apart from a client's idle keep-alive pool is that these connections were never
 * answered: the server has sent (next to) nothing on them (tcpi_bytes_acked), they lived through
 * the whole window, and they received at most slow_attack_max_bytes in it
 * (tcpi_bytes_received). Grouped per source address and listener; the other sources of the same
 * listener are shown beside it, so a normal client stands apart from the attacker.
 */
import type { TcpSocket } from '../../model/socket.js';
import type { ListenerSummary } from '../../analysis/listeners.js';
import { plural, commandAdvice, textAdvice } from '../advice.js';
import type { FindingDraft, Rule } from '../rule.js';
import { countBy, groupBy, listenerText, percent, maxOf } from '../view.js';
import type { FactsView } from '../view.js';

function idleUnanswered(view: FactsView, s: TcpSocket, maxBytes: number): boolean {
  if (s.state !== 'ESTABLISHED' || s.tcpInfo === null) return false;
  const before = view.atStart(s);
  if (before?.state !== 'ESTABLISHED' || before.tcpInfo === null) return false;
  const received = (s.tcpInfo.bytesReceived ?? 0) - (before.tcpInfo.bytesReceived ?? 0);
  // bytes_acked starts at 1 for the SYN: the server sent at most maxBytes on it, ever.
  return received <= maxBytes && (s.tcpInfo.bytesAcked ?? 0) <= maxBytes + 1;
}

export const slowConnectionAttack: Rule = {
  id: 'slow-connection-attack',
  summary: 'one source holding many long-lived, nearly idle, unanswered connections to a listener',
  needs: ['sockets', 'tcpInfo'],
  logPatterns: [/timed? ?out|timeout|408/i, /too many (connections|open files)|EMFILE/i],
  evaluate({ view, thresholds }) {
    const byListener = new Map<ListenerSummary, TcpSocket[]>();
    for (const s of view.byState('ESTABLISHED')) {
      const l = view.listenerOf(s);
      if (l === null) continue;
      const list = byListener.get(l);
      if (list) list.push(s);
      else byListener.set(l, [s]);
    }
    const findings: FindingDraft[] = [];
    let worst = 0;
    for (const [listener, children] of byListener) {
      const perSource = countBy(children, (s) => s.remote.address);
      const idle = groupBy(children.filter((s) => idleUnanswered(view, s, thresholds.slow_attack_max_bytes)), (s) => s.remote.address);
      for (const [source, held] of idle) {
        worst = Math.max(worst, held.length);
        if (held.length < thresholds.slow_attack_min_connections) continue;
        const where = listenerText(listener);
        const owner = listener.pid === null ? null : { pid: listener.pid, process: listener.process ?? '?' };
        const fromSource = perSource.find(([a]) => a === source)?.[1] ?? held.length;
        const others = perSource.filter(([a]) => a !== source);
        const family = held[0]!.family;
        findings.push({
          severity: percent(held.length, children.length) >= 50 ? 'critical' : 'warning',
          title: `${source} holds ${plural(held.length, 'idle, unanswered connection')} to ${where} (${percent(fromSource, children.length)}% of its connections)`,
          subject: source,
          explanation:
            `${source} keeps ${held.length} connections open to ${where}${owner ? ` (${owner.process}, pid ${owner.pid})` : ''} that lived through the whole window, received at most ${thresholds.slow_attack_max_bytes} bytes each in it, and were never answered. ` +
            'That is the shape of a slow-connection attack (slowloris, slow HTTP): each one holds a server slot while it trickles an unfinished request. ' +
            `${others.length === 0 ? 'No other source is connected.' : `${plural(others.length, 'other source')} hold ${others.reduce((n, [, c]) => n + c, 0)} connections between them.`}`,
          evidence: {
            source,
            listener: where,
            process: owner,
            idleConnections: held.length,
            connectionsFromSource: fromSource,
            listenerConnections: children.length,
            sharePercent: percent(fromSource, children.length),
            maxBytesReceivedInWindow: maxOf(held, (s) => (s.tcpInfo!.bytesReceived ?? 0) - (view.atStart(s)?.tcpInfo?.bytesReceived ?? 0)),
            otherSources: others.slice(0, 10).map(([address, count]) => ({ source: address, connections: count })),
          },
          advice: [
            commandAdvice(
              `Cap connections per source at the firewall (needs an inet filter table with an input chain). Not for a source that is your own proxy, a load balancer or a NAT gateway shared by many clients.`,
              `nft add rule inet filter input ${family === 6 ? 'ip6' : 'ip'} saddr ${source} tcp dport ${listener.local.port} ct count over 20 reject with tcp reset`,
            ),
            textAdvice('Bound how long a client may take to send its request headers and body (nginx client_header_timeout/client_body_timeout, Apache mod_reqtimeout, Node server.headersTimeout and requestTimeout), and serve from an event-driven front end that does not tie a worker to a connection.'),
          ],
        });
      }
    }
    return { value: worst, threshold: thresholds.slow_attack_min_connections, measure: 'idle, unanswered connections one source holds to a listener', findings };
  },
};
