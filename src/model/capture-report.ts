/**
 * The shape `tcpdiag analyze --json` prints, which the agent also stores for each capture and
 * answers for an upload (GET /api/v1/recordings/analysis, POST /api/v1/analyze). Platform-neutral:
 * the dashboard's Captures page draws it.
 */
import type { Finding } from './finding.js';

export interface EndpointJson {
  address: string;
  port: number;
}

export interface RttSummary {
  samples: number;
  min: number;
  avg: number;
  max: number;
  p95: number;
}

export interface PerSide<T> {
  client: T;
  server: T;
}

/** ICMP/ICMPv6 errors that quoted this connection's segments, by type and code. */
export interface IcmpErrorJson {
  type: number;
  code: number;
  /** `port-unreachable`, `communication-prohibited`, `fragmentation-needed`, `packet-too-big`, `ttl-exceeded`... */
  name: string;
  /** The MTU a fragmentation-needed (ICMP) or packet-too-big (ICMPv6) error reports. */
  nextHopMtu?: number;
  count: number;
}

export interface ConnectionReport {
  /** Connection number (0-based, in order of first packet), as Zeek's conn.log rows. */
  id: number;
  /** Wireshark's tcp.stream of its packets (Zeek may split one stream into several connections). */
  stream: number;
  family: 4 | 6;
  client: EndpointJson;
  server: EndpointJson;
  /** Zeek conn_state: S0, S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH, SH, SHR, OTH. */
  state: string;
  /** Zeek history letters: upper case from the client (originator), lower case from the server. */
  history: string;
  /** Tunnels its packets came through, outermost first (`vxlan`, `gre`, `mpls`...); empty when none. */
  encapsulation: string[];
  start: string;
  durationMs: number;
  packets: PerSide<number>;
  payloadBytes: PerSide<number>;
  handshakeRttMs: number | null;
  rttMs: RttSummary | null;
  mss: PerSide<number | null>;
  windowScale: PerSide<number | null>;
  sackPermitted: boolean;
  timestamps: boolean;
  retransmissions: number;
  fastRetransmissions: number;
  spuriousRetransmissions: number;
  duplicateAcks: number;
  zeroWindows: number;
  outOfOrder: number;
  lostSegments: number;
  keepAlives: number;
  resets: PerSide<number>;
  fins: PerSide<number>;
  /** Who reset the connection first: 'client', 'server' or null. */
  resetBy: 'client' | 'server' | null;
  /** Longest time a side advertised a zero window, in ms (0 when none). */
  zeroWindowStallMs: number;
  icmpErrors: IcmpErrorJson[];
}

export interface AnalysisSummary {
  /** Connections as Zeek counts them (the rows of its conn.log). */
  connections: number;
  /** Wireshark's TCP streams (tcp.stream values). */
  streams: number;
  syn: number;
  synAck: number;
  fin: number;
  rst: number;
  retransmissions: number;
  fastRetransmissions: number;
  spuriousRetransmissions: number;
  duplicateAcks: number;
  zeroWindows: number;
  outOfOrder: number;
  lostSegments: number;
  keepAlives: number;
  handshakesCompleted: number;
  handshakesFailed: number;
  payloadBytes: number;
  /** ICMP/ICMPv6 errors quoting a TCP segment (not counted as segments above). */
  icmpErrors: number;
}

export interface TimelineBucket {
  /** Start of the second, seconds since the epoch. */
  t: number;
  syn: number;
  synAck: number;
  fin: number;
  rst: number;
  retransmissions: number;
  packets: number;
  bytes: number;
  icmpErrors: number;
}

export interface TalkerJson {
  address: string;
  packets: number;
  bytes: number;
}

export interface FailedHandshake {
  id: number;
  client: EndpointJson;
  server: EndpointJson;
  state: string;
  history: string;
  synCount: number;
  start: string;
}

export interface AnalysisError {
  code: string;
  message: string;
  offset: number | null;
  afterPacket: number;
}

export interface AnalysisReport {
  file: string | null;
  format: string | null;
  linkTypes: string[];
  packets: number;
  tcpPackets: number;
  bytes: number;
  firstPacket: string | null;
  lastPacket: string | null;
  durationS: number;
  summary: AnalysisSummary;
  connStates: Record<string, number>;
  /** Connections listed below (the most interesting ones when there are more than the limit). */
  connectionsListed: number;
  connections: ConnectionReport[];
  rtt: { handshakeMs: RttSummary | null; dataMs: RttSummary | null };
  timeline: TimelineBucket[];
  topTalkers: TalkerJson[];
  failedHandshakes: FailedHandshake[];
  /** The rules of `tcpdiag diagnose` judged on this capture (same ids), most severe first. */
  findings: readonly Finding[];
  /** With --frames: frame numbers of each verdict, keyed by Wireshark's tcp.analysis.* name. */
  frames?: Record<string, number[]>;
  /** Set when the input was damaged: everything above covers the packets before the damage. */
  error: AnalysisError | null;
}
