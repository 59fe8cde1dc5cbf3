/**
 * port-exhaustion: ephemeral ports in use toward one destination against ip_local_port_range.
 *
 * Why it fires: connect() without bind() picks a local port from net.ipv4.ip_local_port_range
 * (__inet_hash_connect() in net/ipv4/inet_hashtables.c). A port can be shared across different
 * destinations, so the limit is per destination (address and port): once every port in the
 * range is taken toward it, connect() fails with EADDRNOTAVAIL ("Cannot assign requested
 * address"). Ports held in TIME_WAIT count too, unless tcp_tw_reuse lets connect() take them
 * back (1: always when timestamps allow; 2, the default since 5.7: loopback only;
 * Documentation/networking/ip-sysctl.rst). Judged at capacity_percent of the range.
 */
import { plural, sysctlAdvice, textAdvice } from '../advice.js';
import type { FindingDraft, Rule } from '../rule.js';
import type { TcpSocket } from '../../model/socket.js';
import { ownersEvidence, percent, remoteText } from '../view.js';
import type { FactsView } from '../view.js';
import { twReuseApplies } from './time-wait-backlog.js';

export interface DestinationPorts {
  readonly destination: string;
  readonly remoteAddress: string;
  /** Ports that connect() cannot pick for this destination. */
  readonly used: number;
  readonly established: number;
  readonly timeWait: number;
  /** TIME_WAIT ports tcp_tw_reuse gives back (not in `used`). */
  readonly reusableTimeWait: number;
  readonly synSent: number;
  readonly other: number;
  readonly usedPercent: number;
  readonly owners: ReturnType<typeof ownersEvidence>;
}

export function destinationPorts(view: FactsView): DestinationPorts[] {
  return view.derive('destinationPorts', (v) => {
    const range = v.portRange;
    if (range === null) return [];
    // Grouped by remote address, then port, and counted in one pass per group: no string per
    // socket (on 60,000 sockets the text keys were most of this rule's time).
    const byAddress = new Map<string, Map<number, TcpSocket[]>>();
    for (const s of v.end) {
      if (s.state === 'LISTEN' || s.state === 'SYN_RECV' || !v.isEphemeral(s.local.port) || v.listenerOf(s) !== null) continue;
      let byPort = byAddress.get(s.remote.address);
      if (byPort === undefined) byAddress.set(s.remote.address, (byPort = new Map<number, TcpSocket[]>()));
      const group = byPort.get(s.remote.port);
      if (group === undefined) byPort.set(s.remote.port, [s]);
      else group.push(s);
    }
    const result: DestinationPorts[] = [];
    for (const [remoteAddress, byPort] of byAddress) {
      const reuse = twReuseApplies(v, remoteAddress);
      for (const group of byPort.values()) {
        let timeWait = 0;
        let established = 0;
        let synSent = 0;
        // Local ports in use, per local address (a port is taken per local address).
        const ports = new Map<string, Set<number>>();
        for (const s of group) {
          if (s.state === 'TIME_WAIT') timeWait++;
          else if (s.state === 'ESTABLISHED') established++;
          else if (s.state === 'SYN_SENT') synSent++;
          if (reuse && s.state === 'TIME_WAIT') continue;
          let set = ports.get(s.local.address);
          if (set === undefined) ports.set(s.local.address, (set = new Set<number>()));
          set.add(s.local.port);
        }
        let used = 0;
        for (const set of ports.values()) used += set.size;
        result.push({
          destination: remoteText(group[0]!),
          remoteAddress,
          used,
          established,
          timeWait,
          reusableTimeWait: reuse ? timeWait : 0,
          synSent,
          other: group.length - timeWait - established - synSent,
          usedPercent: percent(used, range.size),
          owners: ownersEvidence(group),
        });
      }
    }
    return result.sort((a, b) => b.used - a.used);
  });
}

export const portExhaustion: Rule = {
  id: 'port-exhaustion',
  summary: 'ephemeral ports in use per destination against net.ipv4.ip_local_port_range',
  needs: ['sockets', 'sysctls'],
  logPatterns: [/cannot assign requested address|EADDRNOTAVAIL/i, /address (already )?in use|EADDRINUSE/i],
  evaluate({ view, thresholds }) {
    const range = view.portRange;
    if (range === null) return { skip: 'net.ipv4.ip_local_port_range could not be read' };
    const destinations = destinationPorts(view);
    const worst = destinations[0]?.usedPercent ?? 0;
    const rangeText = view.sysctlText('net.ipv4.ip_local_port_range');
    const findings: FindingDraft[] = destinations.filter((d) => d.usedPercent >= thresholds.capacity_percent).map((d) => {
      const proc = d.owners[0];
      const free = range.size - d.used;
      const advice = [
        textAdvice('Reuse connections to this destination (keep-alive, a pool) instead of opening one per request: each open connection and each TIME_WAIT after it holds a port.'),
        sysctlAdvice('net.ipv4.ip_local_port_range', rangeText, '10000 65000',
          `Widen the range (now ${range.size} ports). Check first that no service listens on a port inside the new range, or reserve those with net.ipv4.ip_local_reserved_ports.`),
      ];
      if (d.timeWait > 0 && d.reusableTimeWait === 0) {
        advice.push(sysctlAdvice('net.ipv4.tcp_tw_reuse', view.sysctlText('net.ipv4.tcp_tw_reuse'), '1', `Let connect() reuse the ${d.timeWait} TIME_WAIT ports toward ${d.destination} (outgoing connections only; needs tcp_timestamps=1).`));
      }
      advice.push(textAdvice('Or spread the load over more destination addresses or ports: every destination has a range of its own.'));
      return {
        severity: free <= Math.max(10, range.size * 0.05) ? 'critical' : 'warning',
        title: `${d.used} of ${range.size} ephemeral ports toward ${d.destination} in use (${d.usedPercent}%)${proc ? `, mostly by ${proc.process} (pid ${proc.pid})` : ''}`,
        subject: d.destination,
        explanation:
          `Connections to ${d.destination} from this host take their local port from ip_local_port_range (${rangeText}). ` +
          `${d.established} are open, ${d.timeWait} wait in TIME_WAIT${d.reusableTimeWait > 0 ? ' (reusable through tcp_tw_reuse)' : ''} and ${d.synSent} are connecting: ` +
          `${plural(free, 'port is', 'ports are')} left. When none is, connect() fails with EADDRNOTAVAIL ("Cannot assign requested address").`,
        evidence: {
          destination: d.destination,
          portsInUse: d.used,
          portRange: { low: range.low, high: range.high, size: range.size },
          usedPercent: d.usedPercent,
          free,
          established: d.established,
          timeWait: d.timeWait,
          reusableTimeWait: d.reusableTimeWait,
          synSent: d.synSent,
          otherStates: d.other,
          processes: d.owners,
        },
        advice,
      };
    });
    return { value: worst, threshold: thresholds.capacity_percent, measure: '% of the ephemeral port range used toward the busiest destination', findings };
  },
};
