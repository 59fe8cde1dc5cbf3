/**
 * Findings from a capture's aggregates: facts in, findings out, no I/O (style guide, habit 10),
 * in the one Finding shape of src/model/finding.ts. Each rule says why it fires.
 */
import { bySeverity } from '../../model/finding.js';
import type { Advice, Finding } from '../../model/finding.js';
import type { IcmpErrorKind } from '../../model/icmp.js';
import type { AnalysisSummary } from './report-types.js';

/** One group of ICMP errors: the same error, from the same sender, about the same destination. */
export interface IcmpFindingInput {
  kind: IcmpErrorKind;
  name: string;
  family: 4 | 6;
  type: number;
  code: number;
  /** The MTU the error reports (-1: none). */
  mtu: number;
  /** Who sent the error (a router, a firewall, the destination host). */
  from: string;
  /** The quoted segments' destination, `address:port`. */
  server: string;
  /** Some of the hosts whose segments were refused. */
  senders: string[];
  count: number;
  /** Largest MSS in use on the connections concerned (-1: unknown). */
  mss: number;
  /** Capture time of the first of them, ms since the epoch. */
  firstMs: number;
}

export interface FindingInputs {
  summary: AnalysisSummary;
  durationS: number;
  /** Capture time the findings refer to (its last packet), ms since the epoch. */
  atMs: number;
  services: Array<{ address: string; port: number; syn: number; completed: number; refused: number; sources: number; sourcePorts: number }>;
  peers: Array<{ address: string; dataSegments: number; retransmissions: number }>;
  stalls: Array<{ id: number; client: string; server: string; stallMs: number; zeroWindows: number }>;
  peakSynPerSecond: number;
  icmp: Array<IcmpFindingInput & { connectionIds: number[] }>;
}

/** A SYN flood shows as many SYNs to one service, few completed handshakes, many sources. */
const SYN_FLOOD_MIN_SYN = 200;
const SYN_FLOOD_MAX_COMPLETION = 0.2;
/** A zero window held for over a second stalls the sender (RFC 9293 3.8.6.1, persist timer). */
const ZERO_WINDOW_STALL_MS = 1000;
/** The brief's threshold: retransmission rate above 1% is unhealthy; a storm is far above it. */
const STORM_MIN_RETRANS = 20;
const STORM_MIN_RATIO = 0.05;
/** IPv4 and IPv6 header bytes plus the 20-byte TCP header: what an MTU holds besides the MSS. */
const IPV4_TCP_HEADERS = 40;
const IPV6_TCP_HEADERS = 60;
/** Findings of one rule listed at most. */
const MAX_PER_RULE = 10;

const SOURCE = 'analyze';

function finding(f: Omit<Finding, 'source'>): Finding {
  return { ...f, source: SOURCE };
}

function advice(text: string, command?: string): Advice {
  return command === undefined ? { text } : { text, command };
}

export function buildFindings(input: FindingInputs): Finding[] {
  const findings: Finding[] = [];
  const at = input.atMs;

  for (const svc of input.services) {
    const server = `${svc.address.includes(':') ? `[${svc.address}]` : svc.address}:${svc.port}`;
    const completion = svc.sourcePorts === 0 ? 1 : svc.completed / svc.sourcePorts;
    // Many half-open attempts that never complete, from many source ports or addresses: the
    // signature of a SYN flood (RFC 4987), not of a busy but healthy service.
    if (svc.syn >= SYN_FLOOD_MIN_SYN && completion < SYN_FLOOD_MAX_COMPLETION && svc.sourcePorts >= SYN_FLOOD_MIN_SYN / 2) {
      findings.push(finding({
        id: 'syn-flood',
        severity: 'critical',
        title: `SYN flood signature toward ${server}: ${svc.syn} SYNs, ${svc.completed} handshakes completed`,
        subject: server,
        explanation: 'Many connection attempts reached this service and few completed the handshake, from many source ports: half-open connections fill the SYN queue (RFC 4987) and real clients are refused or delayed.',
        evidence: { server, syn: svc.syn, connectionAttempts: svc.sourcePorts, handshakesCompleted: svc.completed, completionRatio: round(completion), distinctSources: svc.sources, peakSynPerSecond: input.peakSynPerSecond },
        advice: [
          advice('enable SYN cookies so the SYN queue cannot fill', 'sysctl -w net.ipv4.tcp_syncookies=1'),
          advice('raise the SYN backlog', 'sysctl -w net.ipv4.tcp_max_syn_backlog=8192'),
          advice('rate-limit SYNs per source at the edge'),
        ],
        atMs: at,
      }));
    }
    // Connection refused: the server answered SYN with RST (no listener, or a firewall REJECT).
    if (svc.refused > 0) {
      findings.push(finding({
        id: 'connection-refused',
        severity: svc.refused >= 10 ? 'warning' : 'info',
        title: `${svc.refused} connection${svc.refused === 1 ? '' : 's'} to ${server} refused (SYN answered by RST)`,
        subject: server,
        explanation: 'The SYN was answered with a RST: nothing listens on that address and port, or a firewall rejects it with a TCP reset.',
        evidence: { server, refused: svc.refused, attempts: svc.sourcePorts },
        advice: [advice('check that the service listens on that address and port, and that no firewall rejects it', 'ss -ltn')],
        atMs: at,
      }));
    }
  }

  const unanswered = input.summary.handshakesFailed;
  if (unanswered > 0 && !findings.some((f) => f.id === 'syn-flood')) {
    findings.push(finding({
      id: 'failed-handshakes',
      severity: unanswered >= 10 ? 'warning' : 'info',
      title: `${unanswered} handshake${unanswered === 1 ? '' : 's'} did not complete`,
      subject: 'capture',
      explanation: 'A SYN was sent but the three-way handshake never completed: the SYN or its SYN-ACK was lost or dropped, or the connection was refused.',
      evidence: { handshakesFailed: unanswered, handshakesCompleted: input.summary.handshakesCompleted },
      advice: [advice('look at failedHandshakes for the destinations, and at ICMP errors and RSTs toward them')],
      atMs: at,
    }));
  }

  let stalls = 0;
  for (const stall of input.stalls) {
    if (stall.stallMs < ZERO_WINDOW_STALL_MS) continue;
    // The receiver's buffer stayed full: the application does not read fast enough.
    findings.push(finding({
      id: 'zero-window-stall',
      severity: 'warning',
      title: `zero-window stall of ${Math.round(stall.stallMs)} ms on ${stall.client} -> ${stall.server}`,
      subject: `${stall.client} -> ${stall.server}`,
      explanation: 'A receiver advertised a zero window for over a second: its socket buffer was full, so the sender could only probe (RFC 9293 3.8.6.1).',
      evidence: { connection: stall.id, client: stall.client, server: stall.server, stallMs: stall.stallMs, zeroWindows: stall.zeroWindows },
      advice: [advice('the receiving application stopped reading its socket; check it for blocking work, and tcp_rmem if it is merely slow')],
      atMs: at,
    }));
    if (++stalls >= MAX_PER_RULE) break;
  }

  const storms = input.peers
    .filter((p) => p.retransmissions >= STORM_MIN_RETRANS && p.retransmissions / Math.max(1, p.dataSegments) >= STORM_MIN_RATIO)
    .sort((x, y) => y.retransmissions - x.retransmissions)
    .slice(0, 5);
  for (const peer of storms) {
    // Loss concentrated toward one peer points at its path or its host, not at this sender.
    const ratio = peer.retransmissions / Math.max(1, peer.dataSegments);
    findings.push(finding({
      id: 'retransmission-storm',
      severity: ratio >= 0.2 ? 'critical' : 'warning',
      title: `retransmission storm toward ${peer.address}: ${peer.retransmissions} retransmissions for ${peer.dataSegments} data segments`,
      subject: peer.address,
      explanation: 'Far more than 1% of the data segments toward this peer were sent again: loss on its path, or a host that drops what it receives.',
      evidence: { peer: peer.address, retransmissions: peer.retransmissions, dataSegments: peer.dataSegments, ratio: round(ratio) },
      advice: [advice('look at the path to this peer (loss, MTU, a saturated link) and at its receive side')],
      atMs: at,
    }));
  }

  findings.push(...icmpFindings(input.icmp));
  return findings.sort(bySeverity);
}

function icmpFindings(groups: FindingInputs['icmp']): Finding[] {
  const out: Finding[] = [];
  const byCount = [...groups].sort((x, y) => y.count - x.count);
  let filtered = 0;
  let mtu = 0;
  let unreachable = 0;
  for (const g of byCount) {
    const evidence = { server: g.server, error: g.name, icmpType: g.type, icmpCode: g.code, from: g.from, errors: g.count, senders: g.senders, connections: g.connectionIds };
    if (g.kind === 'filtered' && filtered++ < MAX_PER_RULE) {
      // A filter on the path (or on the host) refuses the segments and says so: connect() fails
      // with EHOSTUNREACH / ECONNREFUSED instead of timing out, and nothing reaches the service.
      out.push(finding({
        id: 'icmp-filtered',
        severity: 'warning',
        title: `${g.server} filtered by a firewall: ${g.count} ICMP ${g.name} from ${g.from}`,
        subject: g.server,
        explanation: `${g.from} answered segments toward ${g.server} with ICMP${g.family === 6 ? 'v6' : ''} ${g.name}: a firewall rule rejects them (Linux answers a closed TCP port with a RST, never with ICMP, so ICMP port unreachable for TCP is a REJECT rule too).`,
        evidence,
        advice: [
          advice(`find the rule that rejects traffic to ${g.server} on ${g.from}`, 'nft list ruleset'),
          advice('if it is this host: iptables-save | grep -i reject'),
        ],
        atMs: g.firstMs,
      }));
    } else if (g.kind === 'mtu' && g.mtu > 0) {
      const room = g.mtu - (g.family === 6 ? IPV6_TCP_HEADERS : IPV4_TCP_HEADERS);
      // Segments of the MSS in use do not fit the path: they are dropped until the sender lowers
      // its path MTU (RFC 1191 / RFC 8201); if the ICMP is itself filtered, the connection hangs.
      if (g.mss > 0 && room < g.mss && mtu++ < MAX_PER_RULE) {
        out.push(finding({
          id: 'path-mtu-below-mss',
          severity: 'warning',
          title: `path MTU ${g.mtu} below the MSS in use (${g.mss}) toward ${g.server}`,
          subject: g.server,
          explanation: `${g.from} reported ICMP${g.family === 6 ? 'v6' : ''} ${g.name} with MTU ${g.mtu}: a segment of ${g.mss} payload bytes needs ${g.mss + (g.family === 6 ? IPV6_TCP_HEADERS : IPV4_TCP_HEADERS)} bytes, so full-size segments are dropped on that path (a tunnel, VPN or cloud overlay with a smaller MTU).`,
          evidence: { ...evidence, pathMtu: g.mtu, mss: g.mss, maxPayloadOnPath: room },
          advice: [
            advice(`clamp the MSS to ${room} on the path`, `nft add rule inet filter forward tcp flags syn tcp option maxseg size set ${room}`),
            advice('or lower the interface MTU to the path MTU, and make sure ICMP fragmentation-needed / packet-too-big is not filtered'),
          ],
          atMs: g.firstMs,
        }));
      }
    } else if (g.kind === 'unreachable' && unreachable++ < MAX_PER_RULE) {
      out.push(finding({
        id: 'icmp-unreachable',
        severity: 'warning',
        title: `${g.server} unreachable: ${g.count} ICMP ${g.name} from ${g.from}`,
        subject: g.server,
        explanation: `${g.from} could not forward segments toward ${g.server} (${g.name}): no route, no answer to ARP/neighbour discovery, or a routing loop.`,
        evidence,
        advice: [advice(`check the route to ${g.server} from this host and from ${g.from}`, `ip route get ${g.server.replace(/^\[?(.*?)\]?:\d+$/, '$1')}`)],
        atMs: g.firstMs,
      }));
    }
  }
  return out;
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}


