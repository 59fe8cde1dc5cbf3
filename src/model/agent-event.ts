/**
 * What the agent keeps of the kernel's TCP events (GET /api/v1/events, the stream's `event`
 * messages) and its per-minute rollups (GET /api/v1/rollups). Platform-neutral: the dashboard
 * reads these types.
 *
 * Normal opens and closes are only counted (per second); what is abnormal is kept one by one:
 * resets, retransmissions, failed connects and state anomalies (see analysis/events/classify.ts).
 */
import type { AddressFamily, Endpoint } from './socket.js';
import type { TcpState } from './tcp-state.js';

/** The kinds of event the agent records, one by one (abnormal) or as counts (normal). */
export const AGENT_EVENT_KINDS = ['connect', 'accept', 'close', 'connect-failed', 'reset', 'retransmit', 'state'] as const;
export type AgentEventKind = (typeof AGENT_EVENT_KINDS)[number];
/** Kept one by one in the store; the others only as per-second counts. */
export const ABNORMAL_KINDS: ReadonlySet<AgentEventKind> = new Set(['connect-failed', 'reset', 'retransmit', 'state']);

export interface AgentEvent {
  /** Wall-clock ms. */
  readonly ts: number;
  readonly kind: AgentEventKind;
  readonly family: AddressFamily;
  readonly local: Endpoint;
  readonly remote: Endpoint;
  /** connect/accept/close: active|passive (null when the open was not seen); reset: sent|received; retransmit: data|syn|synack. */
  readonly direction: string | null;
  /** The socket's state at the event (state events: the new one). */
  readonly state: TcpState | null;
  /** Why: a failed connect's cause, a sent reset's sk_rst_reason, a state anomaly's name, a failed retransmit's errno. */
  readonly reason: string | null;
  /** The rest of the event's fields (durations, SYN retransmits, old state...). */
  readonly detail: Readonly<Record<string, string | number | boolean | null>>;
}

/**
 * The per-second counters of the collector, by name. `open.*` count the kernel's own open
 * points (CLOSE->SYN_SENT in tcp_connect, where ActiveOpens is counted; LISTEN->SYN_RECV when
 * tcp_create_openreq_child makes the child, where PassiveOpens is), so they can be compared
 * with /proc/net/snmp exactly. `fin.*` count the transitions that send or take a FIN, which no
 * SNMP counter does (analysis/events/classify.ts finCounter).
 */
export const EVENT_COUNTERS = [
  'open.active', 'open.passive', 'connect', 'accept', 'close', 'connect-failed',
  'reset.sent', 'reset.received', 'retransmit.data', 'retransmit.syn', 'retransmit.synack', 'retransmit.failed',
  'state', 'lost', 'unstored', 'fin.sent', 'fin.received',
] as const;
export type EventCounter = (typeof EVENT_COUNTERS)[number];

/** One counter's events in one second. */
export interface SecondCount {
  /** Start of the second, wall-clock ms. */
  readonly ts: number;
  readonly counter: EventCounter;
  readonly n: number;
}

/**
 * What a rollup row is keyed by: a listener of this host (the connections it accepted), a peer
 * (remote address), or the remote port of the connections this host opened (the services it
 * calls: outbound, the local end not a listener's).
 */
export const ROLLUP_BY = ['listener', 'peer', 'remote-port'] as const;
export type RollupBy = (typeof ROLLUP_BY)[number];
/** The key of the row that sums the peers past the top K of a minute. */
export const OTHER_KEY = 'other';

export interface RollupRow {
  /** Start of the minute, wall-clock ms. */
  readonly ts: number;
  readonly by: RollupBy;
  /** listener: its endpoint (ADDR:PORT, [ADDR]:PORT); peer: the remote address; remote-port: the port as decimal text; or "other". */
  readonly key: string;
  readonly opened: number;
  readonly closed: number;
  readonly resets: number;
  readonly retransmits: number;
  readonly failed: number;
  /** From the socket table's tcp_info (bytes_acked, bytes_received deltas between samples); null when never known. */
  readonly bytesSent: number | null;
  readonly bytesReceived: number | null;
  /** Smoothed RTT of the sockets sampled in the minute (tcp_info), ms; null without a sample. */
  readonly rttMeanMs: number | null;
  readonly rttMaxMs: number | null;
  readonly rttSamples: number;
}

/** One state a connection was in, from the kernel's transitions (sock:inet_sock_set_state). */
export interface StateSpan {
  readonly state: TcpState;
  /** When it entered the state, wall-clock ms; null when it was already in it when first seen. */
  readonly sinceMs: number | null;
  /** How long it stayed; null while it is still in it, or when its entry was not seen. */
  readonly durationMs: number | null;
}

/**
 * Every state one connection went through while the agent watched (GET /api/v1/events with
 * local and remote: `history`), kept in memory for the open connections and the most recently
 * closed ones. The last span is CLOSE once the socket is gone.
 */
export interface ConnectionHistory {
  /** Who opened it: active (connect), passive (accepted), null (first seen mid-life). */
  readonly origin: 'active' | 'passive' | null;
  readonly states: readonly StateSpan[];
  /**
   * The full socket closed into a time-wait mini-socket (tcp_time_wait: FIN_WAIT2 or CLOSING to
   * CLOSE without a reset), which the socket table lists as TIME_WAIT, or as FIN_WAIT2 while an
   * orphan waits for the peer's FIN, and which has no transitions of its own.
   */
  readonly handedOver: boolean;
  /** Transitions past the per-connection cap were not kept. */
  readonly truncated: boolean;
}
