/**
 * mtu-blackhole: full-size segments that never arrive while the path carries small ones.
 *
 * Why it fires: TCP sends segments of the MSS negotiated in the handshake, sized from each end's
 * interface MTU, with Don't Fragment set. A narrower link in the middle (a tunnel, a VPN, a
 * hybrid-cloud interconnect) must answer such a packet with ICMP "fragmentation needed"
 * (RFC 1191; "packet too big" for IPv6, RFC 8201) so the sender lowers its path MTU
 * (tcp_v4_mtu_reduced() in net/ipv4/tcp_ipv4.c). When a firewall drops that ICMP, nothing tells
 * the sender: the handshake and small requests pass, every full-size segment is lost, and the
 * connection stalls in back-to-back RTO retransmissions of the same segment — a PMTUD black hole
 * (RFC 2923 section 2.1). The socket shows it: consecutive RTOs (tcpi_retransmits), a full
 * segment queued, tcpi_pmtu still the interface MTU, data acknowledged before the stall; and no
 * ICMP destination-unreachable / packet-too-big counted in the window. Linux only recovers by
 * itself with net.ipv4.tcp_mtu_probing (RFC 4821 packetization-layer PMTUD), off by default.
 * A capture shows the other half: the ICMP error itself, with a next-hop MTU below the MSS the
 * handshake negotiated.
 */
import type { CaptureIcmpError } from '../../model/facts.js';
import type { TcpSocket } from '../../model/socket.js';
import { plural, commandAdvice, sysctlAdvice, textAdvice } from '../advice.js';
import type { FindingDraft, Rule } from '../rule.js';
import { groupBy, isLoopback, localText, ownerOf, remoteText } from '../view.js';
import type { FactsView } from '../view.js';

/** The minimum IPv6 MTU (RFC 8200) and the usual floor of tunnels: smaller segments fit any path. */
const SMALL_PATH_MTU = 1280;

export interface StalledLarge {
  readonly socket: TcpSocket;
  /** Bytes of the head segment (at most one MSS) that keep being resent. */
  readonly mss: number;
  readonly pmtu: number;
  readonly consecutiveRtos: number;
  /** The peer sent data in the window, or another connection to it made progress: the path is alive. */
  readonly pathAlive: boolean;
}

export function stalledLargeSegments(view: FactsView, rtoMin: number): StalledLarge[] {
  return view.derive(`stalledLarge:${rtoMin}`, (v) => {
    // Peers toward which some connection made progress in the window (computed only when needed).
    let progressed: Set<string> | undefined;
    const madeProgress = (address: string): boolean => {
      if (progressed === undefined) {
        progressed = new Set<string>();
        for (const s of v.end) {
          const before = v.atStart(s)?.tcpInfo?.bytesAcked;
          if (s.tcpInfo?.bytesAcked != null && before != null && s.tcpInfo.bytesAcked > before) progressed.add(s.remote.address);
        }
      }
      return progressed.has(address);
    };
    return v.end.flatMap((s) => {
      const i = s.tcpInfo;
      if (i === null || (s.state !== 'ESTABLISHED' && s.state !== 'CLOSE_WAIT') || isLoopback(s.remote.address)) return [];
      const headers = s.family === 6 ? 60 : 40;
      const stalled = i.retransmits >= rtoMin && s.timer.kind === 'retransmit' && i.unacked > 0;
      const fullSegmentQueued = s.sendQ >= i.mss && i.mss + headers > SMALL_PATH_MTU;
      const deliveredBefore = (i.bytesAcked ?? 0) > 1;
      if (!stalled || !fullSegmentQueued || !deliveredBefore) return [];
      return [{
        socket: s,
        mss: i.mss,
        pmtu: i.pmtu,
        consecutiveRtos: i.retransmits,
        pathAlive: i.lastReceiveMs < v.windowMs || madeProgress(s.remote.address),
      }];
    });
  });
}

export const mtuBlackhole: Rule = {
  id: 'mtu-blackhole',
  summary: 'full-size segments retransmitted in a stall while small ones pass, no ICMP frag-needed',
  needs: ['sockets', 'tcpInfo', 'counters', 'sysctls'],
  logPatterns: [/timed? ?out|timeout|ETIMEDOUT/i, /hang|stuck/i],
  evaluate({ view, thresholds }) {
    const stalled = stalledLargeSegments(view, thresholds.stall_rto_min);
    const icmpV4 = view.delta('IcmpInDestUnreachs');
    const icmpV6 = view.delta('Icmp6InPktTooBigs');
    const probing = view.sysctlText('net.ipv4.tcp_mtu_probing');
    const findings: FindingDraft[] = [];
    for (const [peer, group] of groupBy(stalled, (x) => x.socket.remote.address)) {
      const first = group[0]!;
      const owner = ownerOf(first.socket);
      const alive = group.some((x) => x.pathAlive);
      const icmp = first.socket.family === 6 ? icmpV6 : icmpV4;
      const clampMss = first.socket.family === 6 ? 1220 : 1240;
      findings.push({
        severity: alive ? 'warning' : 'info',
        title: `Probable MTU black hole toward ${peer}: ${plural(group.length, 'connection')} stuck resending ${first.mss}-byte segments${owner ? ` (${owner.process}, pid ${owner.pid})` : ''}`,
        subject: peer,
        explanation:
          `These connections delivered data to ${peer}, then stalled: the same full-size segment (MSS ${first.mss}, path MTU ${first.pmtu} as far as the kernel knows) has been resent ${first.consecutiveRtos} times in a row on timeout. ` +
          (alive ? 'Meanwhile the peer still gets smaller packets through, so the path is up but drops large packets. ' : 'Nothing else shows the path is up, so a dead peer or a path that drops everything is possible too. ') +
          (icmp === 0
            ? `No ICMP ${first.socket.family === 6 ? 'packet-too-big' : 'fragmentation-needed'} message arrived in the window: a link on the path has a smaller MTU and the ICMP that should say so is filtered.`
            : `${plural(icmp, 'ICMP unreachable message')} arrived in the window, yet the path MTU was not lowered.`) +
          ` tcp_mtu_probing is ${probing ?? '?'}${probing === '0' ? ', so the kernel will not find a smaller size by itself' : ''}.`,
        evidence: {
          peer,
          process: owner,
          connections: group.length,
          mss: first.mss,
          pmtu: first.pmtu,
          consecutiveRtos: first.consecutiveRtos,
          pathAlive: alive,
          icmpUnreachableInWindow: icmp,
          tcpMtuProbing: probing,
          sockets: group.slice(0, 10).map((x) => ({ local: localText(x.socket), remote: remoteText(x.socket), sendQ: x.socket.sendQ, mss: x.mss, pmtu: x.pmtu, rtos: x.consecutiveRtos })),
        },
        advice: [
          textAdvice('Let ICMP "fragmentation needed" (IPv4 type 3 code 4) and ICMPv6 "packet too big" (type 2) through every firewall and security group on the path: path MTU discovery depends on them.'),
          commandAdvice(`Or clamp the MSS where the narrow link starts (router, VPN or tunnel endpoint), so the handshake itself negotiates segments that fit:`, 'nft add rule inet filter forward tcp flags syn tcp option maxseg size set rt mtu'),
          commandAdvice(`On this host alone, pin a smaller MSS for the route to ${peer} (replace VIA/DEV with the route's own):`, `ip route replace ${peer} via VIA dev DEV advmss ${clampMss} mtu lock ${clampMss + (first.socket.family === 6 ? 60 : 40)}`),
          sysctlAdvice('net.ipv4.tcp_mtu_probing', probing, '1', 'Let the kernel probe for a smaller segment size after a black hole is detected (RFC 4821). Harmless where PMTUD works; 2 would probe on every connection, which is not needed.'),
        ],
      });
    }
    return { value: stalled.length, threshold: 1, measure: 'connections stalled resending full-size segments', findings };
  },
  capture({ facts }) {
    // A router on the path said so: ICMP fragmentation needed / packet too big with a next-hop
    // MTU that cannot hold a full segment of the MSS the handshake negotiated. The sender must
    // lower its path MTU (RFC 1191, RFC 8201); if the message is filtered before it gets there,
    // every full-size segment is lost while small ones pass (RFC 2923 section 2.1).
    const byServer = new Map<string, CaptureIcmpError>();
    for (const e of facts.capture!.icmpErrors) {
      if (e.kind !== 'mtu' || e.mtu === null || e.mss === null || e.mtu - headerBytes(e.family) >= e.mss) continue;
      const seen = byServer.get(e.server);
      if (seen === undefined || e.mtu < seen.mtu! || (e.mtu === seen.mtu && e.count > seen.count)) byServer.set(e.server, e);
    }
    const findings: FindingDraft[] = [...byServer.values()].slice(0, 10).map((e) => {
      const headers = headerBytes(e.family);
      const room = e.mtu! - headers;
      const what = e.family === 6 ? 'ICMPv6 packet too big' : 'ICMP fragmentation needed';
      const errors = facts.capture!.icmpErrors.filter((x) => x.server === e.server && x.kind === 'mtu');
      return {
        severity: 'warning',
        title: `path MTU ${e.mtu} toward ${e.server} is below the MSS in use (${e.mss}): full-size segments do not fit`,
        subject: e.server,
        explanation:
          `${e.from} answered segments toward ${e.server} with ${what}, next-hop MTU ${e.mtu}: a segment of ${e.mss} payload bytes needs ${e.mss! + headers} bytes, so full-size segments are dropped on that link (a tunnel, VPN or cloud interconnect with a smaller MTU). ` +
          'The sender recovers only if this ICMP reaches it; where a firewall filters it, the handshake and small requests pass and every full-size segment is lost: a path MTU black hole.',
        evidence: {
          server: e.server,
          from: e.from,
          pathMtu: e.mtu,
          mss: e.mss,
          maxPayloadOnPath: room,
          icmpErrors: errors.reduce((n, x) => n + x.count, 0),
          senders: e.senders,
          connections: e.connections,
        },
        advice: [
          textAdvice('Let ICMP "fragmentation needed" (IPv4 type 3 code 4) and ICMPv6 "packet too big" (type 2) through every firewall and security group on the path: path MTU discovery depends on them.'),
          commandAdvice(`Or clamp the MSS to ${room} where the narrow link starts (router, VPN or tunnel endpoint), so the handshake negotiates segments that fit:`, `nft add rule inet filter forward tcp flags syn tcp option maxseg size set ${room}`),
          commandAdvice('On Linux senders, let the kernel probe for a smaller segment size after a black hole is detected (RFC 4821; a capture cannot show the value in force there):', 'sysctl -w net.ipv4.tcp_mtu_probing=1'),
        ],
      };
    });
    return { value: byServer.size, threshold: 1, measure: 'destinations whose reported path MTU is below the MSS in use', findings };
  },
};

/** IPv4 or IPv6 header plus the 20-byte TCP header: what a packet carries besides the MSS. */
function headerBytes(family: 4 | 6): number {
  return family === 6 ? 60 : 40;
}
