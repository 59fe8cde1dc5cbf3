/**
 * The facts the diagnosis rules read: what was observed on a host over one window (or in one
 * capture file), already reduced to values a pure rule can judge. `tcpdiag diagnose` builds them
 * from two snapshots and the kernel events between them; the alerts engine builds the same shape
 * on every tick; `analyze` builds the parts a capture can tell (connections, failures, resets,
 * retransmissions, ICMP) and leaves the rest null.
 *
 * Every part is nullable: null means "not observed", and `missing` says why and what grants it
 * (a rule that needs it is then reported as skipped, never as passed). Counters are deltas over
 * the window, never totals since boot: a long uptime alone must not look like a problem.
 */
import type { Counters } from './counters.js';
import type { AddressFamily, Endpoint, TcpSocket } from './socket.js';
import type { Owner } from './process.js';
import type { ConnFilter } from './conn-filter.js';
import type { IcmpErrorKind } from './icmp.js';

/** The kinds of facts a rule can need. */
export type FactKind =
  | 'sockets'
  | 'tcpInfo'
  | 'owners'
  | 'counters'
  | 'sysctls'
  | 'events'
  | 'processes';

export interface MissingFact {
  readonly kind: FactKind;
  /** Why it is missing ("tracing kernel events needs root"). */
  readonly reason: string;
  /** What grants it ("run with sudo"). */
  readonly hint?: string;
}

/**
 * What the user narrowed the diagnosis to: the one connection filter of every command (ports,
 * addresses, ss's expression, owners; an empty filter is everything). Never states: rules read
 * every state. Counters stay host-wide whatever the filter.
 */
export type DiagnoseScope = ConnFilter;

export interface Facts {
  /** A live window on this host, or a capture file. */
  readonly origin: 'live' | 'capture';
  /** Wall-clock bounds of what was observed (ms since the epoch). */
  readonly window: { readonly startMs: number; readonly endMs: number };
  readonly scope: DiagnoseScope;
  /**
   * The socket table at the start and at the end of the window, request socks (SYN_RECV) and
   * TIME_WAIT included, every socket with its kernel cookie. `end` carries owners when they could
   * be read; tcp_info is on both when the source has it (see `missing`).
   */
  readonly sockets: { readonly start: readonly TcpSocket[]; readonly end: readonly TcpSocket[] } | null;
  readonly counters: CounterFacts | null;
  /** sysctl name -> the kernel's text ("32768 60999"); null values: this kernel has no such key. */
  readonly sysctl: Readonly<Record<string, string | null>> | null;
  /** Connection events in the window: kernel tracepoints (live) or packets (capture). */
  readonly events: ConnectionEvents | null;
  /** Resources of the processes that own TCP sockets (and those named with --pid). */
  readonly processes: readonly ProcessFact[] | null;
  readonly host: HostFact | null;
  /** What a capture file's packets tell (origin `capture` only). */
  readonly capture: CaptureFacts | null;
  readonly missing: readonly MissingFact[];
}

/** One service (server address and port) as the SYNs of a capture saw it. */
export interface CaptureService {
  readonly address: string;
  readonly port: number;
  /** SYNs sent to it, resends included. */
  readonly syn: number;
  /** Connection attempts (distinct client ports), and how many completed the handshake or were refused (RST). */
  readonly attempts: number;
  readonly completed: number;
  readonly refused: number;
  /** Distinct client addresses. */
  readonly sources: number;
}

export interface CaptureFacts {
  readonly packets: number;
  readonly services: readonly CaptureService[];
  /** Per peer: data segments sent to it and the data retransmitted toward it (SYN resends are not data). */
  readonly peers: readonly { readonly address: string; readonly dataSegments: number; readonly retransmissions: number }[];
  /** Handshakes whose SYNs got no answer at all (Zeek state S0), as listed by the analysis. */
  readonly unanswered: readonly { readonly client: Endpoint; readonly server: Endpoint; readonly synCount: number }[];
  readonly zeroWindowStalls: readonly { readonly client: string; readonly server: string; readonly stallMs: number; readonly zeroWindows: number }[];
  readonly peakSynPerSecond: number;
  /** ICMP errors that quote the capture's TCP segments, one group per error, sender and destination. */
  readonly icmpErrors: readonly CaptureIcmpError[];
}

/** ICMP (or ICMPv6) errors of one kind from one sender about one TCP destination. */
export interface CaptureIcmpError {
  readonly kind: IcmpErrorKind;
  /** The error's name ("host-prohibited", "fragmentation-needed", "packet-too-big"). */
  readonly name: string;
  readonly family: AddressFamily;
  readonly type: number;
  readonly code: number;
  /** Who sent it: a router or firewall on the path, or the destination host. */
  readonly from: string;
  /** The TCP destination the quoted segments were going to, `address:port` (IPv6 bracketed). */
  readonly server: string;
  /** Some of the hosts whose segments it answered. */
  readonly senders: readonly string[];
  readonly count: number;
  /** The next-hop MTU it announced (fragmentation needed / packet too big), else null. */
  readonly mtu: number | null;
  /** The largest MSS in use on the connections it concerns, when the handshake was captured. */
  readonly mss: number | null;
  /** The analysis's ids of those connections (at most 20). */
  readonly connections: readonly number[];
}

export interface CounterFacts {
  readonly intervalMs: number;
  /**
   * Growth over the window of the kernel's monotonic counters: Tcp: and TcpExt: by their nstat
   * names (RetransSegs, ListenOverflows...), and Icmp: ones with an `Icmp` prefix
   * (IcmpInDestUnreachs). A counter that went backwards (namespace reset) counts as 0.
   */
  readonly deltas: Counters;
  /** Gauges at the end of the window: SockstatTw, SockstatOrphan, SockstatMem (pages), CurrEstab. */
  readonly gauges: Counters;
}

/** Why a connection attempt failed, as the user saw it. */
export type ConnectFailure = 'refused' | 'timeout' | 'unreachable' | 'reset';

export interface ConnectFailureGroup {
  readonly family: AddressFamily;
  readonly remote: Endpoint;
  readonly reason: ConnectFailure;
  /** The client process, when it is known. */
  readonly owner: Owner | null;
  readonly count: number;
  /** SYNs retransmitted by these attempts before they failed. */
  readonly synRetransmits: number;
}

export type RetransmitKind = 'data' | 'syn' | 'synack';

export interface RetransmitGroup {
  readonly kind: RetransmitKind;
  readonly family: AddressFamily;
  /** The peer's address (for synack: the client that never completed the handshake). */
  readonly remoteAddress: string;
  /** Our port: for synack, the listener's. */
  readonly localPort: number;
  readonly count: number;
}

export interface ResetGroup {
  readonly direction: 'sent' | 'received';
  /** The kernel's reset reason for sent resets (NO_SOCKET, TCP_ABORT_ON_CLOSE...), else null. */
  readonly reason: string | null;
  readonly family: AddressFamily;
  readonly remoteAddress: string;
  readonly localPort: number;
  /** The state the socket was in (SYN_SENT for a refused connect), when known. */
  readonly state: string | null;
  readonly count: number;
}

export interface IcmpErrorGroup {
  /** 'frag-needed' (type 3 code 4, RFC 1191; ICMPv6 type 2, RFC 8201) or another unreachable. */
  readonly kind: 'frag-needed' | 'unreachable';
  /** Who sent the ICMP error (a router on the path, or the peer). */
  readonly from: string;
  /** The TCP destination the quoted packet was going to. */
  readonly aboutRemote: string;
  /** The next-hop MTU it announced (frag-needed only). */
  readonly mtu: number | null;
  readonly count: number;
}

export interface ConnectionEvents {
  readonly source: 'trace' | 'capture';
  /** Events the kernel (or the capture) lost: evidence built on them is a lower bound. */
  readonly lost: number;
  /** Active opens that completed, and passive ones per listening port. */
  readonly connects: number;
  readonly accepts: number;
  readonly connectFailures: readonly ConnectFailureGroup[];
  readonly retransmits: readonly RetransmitGroup[];
  readonly resets: readonly ResetGroup[];
  /** ICMP errors about TCP traffic (a capture sees them; tracepoints do not). */
  readonly icmpErrors: readonly IcmpErrorGroup[];
}

export interface ProcessFact extends Owner {
  /** Open file descriptors now (entries of /proc/PID/fd). */
  readonly openFds: number | null;
  /** RLIMIT_NOFILE soft and hard limits (/proc/PID/limits "Max open files"). */
  readonly fdLimitSoft: number | null;
  readonly fdLimitHard: number | null;
  /** CPU used over the window, in percent of one core (utime + stime, /proc/PID/stat). */
  readonly cpuPercent: number | null;
  /** Resident memory (VmRSS, /proc/PID/status). */
  readonly rssBytes: number | null;
  readonly threads: number | null;
}

export interface HostFact {
  readonly cpus: number;
  /** Whole-host CPU busy over the window, percent of all CPUs (/proc/stat). */
  readonly cpuPercent: number | null;
  readonly loadAverage1m: number | null;
  readonly memTotalBytes: number | null;
  readonly memAvailableBytes: number | null;
  /** fs.file-nr: allocated file handles, and fs.file-max. */
  readonly fileHandlesAllocated: number | null;
  readonly fileHandlesMax: number | null;
}
