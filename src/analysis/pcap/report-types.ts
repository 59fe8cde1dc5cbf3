/** The shape `tcpdiag analyze --json` prints (the contract, plus detail). */

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

export interface ConnectionReport {
  /** Wireshark's tcp.stream number for this connection (0-based, in order of first packet). */
  id: number;
  family: 4 | 6;
  client: EndpointJson;
  server: EndpointJson;
  /** Zeek conn_state: S0, S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH, SH, SHR, OTH. */
  state: string;
  /** Zeek history letters: upper case from the client (originator), lower case from the server. */
  history: string;
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
}

export interface AnalysisSummary {
  connections: number;
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
}

export interface TalkerJson {
  address: string;
  packets: number;
  bytes: number;
}

export type Severity = 'critical' | 'warning' | 'info';

export interface Finding {
  id: string;
  severity: Severity;
  title: string;
  evidence: Record<string, unknown>;
  advice?: string;
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
  findings: Finding[];
  /** With --frames: frame numbers of each verdict, keyed by Wireshark's tcp.analysis.* name. */
  frames?: Record<string, number[]>;
  /** Set when the input was damaged: everything above covers the packets before the damage. */
  error: AnalysisError | null;
}
