/**
 * Which of the trace tracker's events the agent keeps one by one and which it only counts.
 *
 * Normal opens and closes are the bulk of a busy server's events (10 transitions per
 * connection, net/ipv4/tcp*.c) and tell nothing one by one: they become per-second counts.
 * Kept are the events an operator looks for after the fact: resets, retransmissions, failed
 * connects, and state anomalies:
 * - `aborted`: ESTABLISHED -> CLOSE, no FIN exchange (a reset received, or a close with
 *   SO_LINGER 0 / tcp_disconnect: net/ipv4/tcp.c tcp_close sends an RST and sets CLOSE);
 * - `handshake-failed`: SYN_RECV -> CLOSE, a passive open that never completed (the client's
 *   reset, or the SYN-ACK retransmissions ran out, tcp_retries / tcp_synack_retries);
 * - `long-STATE`: a socket left a transitional state (SYN_SENT, SYN_RECV, FIN_WAIT1,
 *   FIN_WAIT2, CLOSE_WAIT, CLOSING, LAST_ACK) after at least `slowStateMs`: an application
 *   slow to close (CLOSE_WAIT), a peer that never sends its FIN (FIN_WAIT2), a lost last ACK.
 */
import type { AgentEvent, EventCounter } from '../../model/agent-event.js';
import type { TcpState } from '../../model/tcp-state.js';
import type { TraceEvent } from '../trace/events.js';

const TRANSITIONAL: ReadonlySet<TcpState> = new Set(['SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'CLOSE_WAIT', 'CLOSING', 'LAST_ACK']);

export interface Classified {
  /** Counters this event adds one to. */
  readonly counters: readonly EventCounter[];
  /** The event as the agent records it; null when it is only counted. */
  readonly record: AgentEvent | null;
}

const NONE: Classified = { counters: [], record: null };
const OPEN_ACTIVE: Classified = { counters: ['open.active'], record: null };
const OPEN_PASSIVE: Classified = { counters: ['open.passive'], record: null };

/** The state anomaly of a transition, or null when it is an ordinary one. */
export function stateAnomaly(oldState: TcpState, newState: TcpState, durationMs: number | null, slowStateMs: number): string | null {
  if (oldState === 'ESTABLISHED' && newState === 'CLOSE') return 'aborted';
  if (oldState === 'SYN_RECV' && newState === 'CLOSE') return 'handshake-failed';
  if (durationMs !== null && durationMs >= slowStateMs && TRANSITIONAL.has(oldState)) return `long-${oldState}`;
  return null;
}

/**
 * The FIN a transition stands for. Sent: tcp_close_state (net/ipv4/tcp.c) moves ESTABLISHED or
 * SYN_RECV to FIN_WAIT1 and CLOSE_WAIT to LAST_ACK, and tcp_send_fin follows (a close with
 * unread data goes to CLOSE and sends an RST instead). Received: tcp_fin (net/ipv4/tcp_input.c)
 * moves ESTABLISHED to CLOSE_WAIT and FIN_WAIT1 to CLOSING. The FIN that reaches FIN_WAIT2 is
 * not counted: the socket becomes a timewait sock (tcp_time_wait) without a state tracepoint of
 * its own, and FIN_WAIT2 -> CLOSE is also an orphan's timeout, so the received count is the
 * FINs that arrived before this side closed. Retransmitted FINs are not counted again.
 */
export function finCounter(oldState: TcpState, newState: TcpState): EventCounter | null {
  if (newState === 'FIN_WAIT1' && (oldState === 'ESTABLISHED' || oldState === 'SYN_RECV')) return 'fin.sent';
  if (newState === 'LAST_ACK' && oldState === 'CLOSE_WAIT') return 'fin.sent';
  if ((newState === 'CLOSE_WAIT' && oldState === 'ESTABLISHED') || (newState === 'CLOSING' && oldState === 'FIN_WAIT1')) return 'fin.received';
  return null;
}

const FIN_SENT: Classified = { counters: ['fin.sent'], record: null };
const FIN_RECEIVED: Classified = { counters: ['fin.received'], record: null };

/**
 * One tracker event -> what the agent counts and keeps. Callers own the result's record (the
 * tracker reuses its state event object: nothing of it is kept by reference but endpoints, which
 * the tracker replaces rather than mutates).
 */
export function classify(e: TraceEvent, slowStateMs: number): Classified {
  switch (e.type) {
    case 'state': {
      if (e.oldState === 'CLOSE' && e.newState === 'SYN_SENT') return OPEN_ACTIVE;
      if (e.oldState === 'LISTEN' && e.newState === 'SYN_RECV') return OPEN_PASSIVE;
      const anomaly = stateAnomaly(e.oldState, e.newState, e.durationMs, slowStateMs);
      const fin = finCounter(e.oldState, e.newState);
      if (anomaly === null || e.local === null || e.remote === null || e.family === null) return fin === null ? NONE : fin === 'fin.sent' ? FIN_SENT : FIN_RECEIVED;
      return {
        counters: fin === null ? ['state'] : ['state', fin],
        record: { ts: e.ts, kind: 'state', family: e.family, local: e.local, remote: e.remote, direction: null, state: e.newState, reason: anomaly, detail: { oldState: e.oldState, durationMs: e.durationMs } },
      };
    }
    case 'connect':
      return { counters: ['connect'], record: null };
    case 'accept':
      return { counters: ['accept'], record: null };
    case 'close':
      return { counters: ['close'], record: null };
    case 'connect-failed':
      if (e.local === null || e.remote === null || e.family === null) return { counters: ['connect-failed'], record: null };
      return {
        counters: ['connect-failed'],
        record: { ts: e.ts, kind: 'connect-failed', family: e.family, local: e.local, remote: e.remote, direction: 'active', state: 'SYN_SENT', reason: e.reason, detail: { durationMs: e.durationMs, synRetransmits: e.synRetransmits } },
      };
    case 'reset': {
      const counter: EventCounter = e.direction === 'sent' ? 'reset.sent' : 'reset.received';
      if (e.local === null || e.remote === null || e.family === null) return { counters: [counter], record: null };
      return { counters: [counter], record: { ts: e.ts, kind: 'reset', family: e.family, local: e.local, remote: e.remote, direction: e.direction, state: e.state, reason: e.reason, detail: {} } };
    }
    case 'retransmit': {
      const counter: EventCounter = e.failed ? 'retransmit.failed' : e.kind === 'data' ? 'retransmit.data' : e.kind === 'syn' ? 'retransmit.syn' : 'retransmit.synack';
      if (e.local === null || e.remote === null || e.family === null) return { counters: [counter], record: null };
      return {
        counters: [counter],
        record: { ts: e.ts, kind: 'retransmit', family: e.family, local: e.local, remote: e.remote, direction: e.kind, state: e.state, reason: e.failed ? (e.error ?? 'failed') : null, detail: { failed: e.failed, segments: e.segments } },
      };
    }
    case 'lost':
      return { counters: [], record: null };
    case 'drop':
      return NONE;
  }
}
