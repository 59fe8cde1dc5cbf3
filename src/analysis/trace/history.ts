/**
 * A connection's state history, as the trace tracker keeps it per socket: the kernel's state
 * numbers with the monotonic time each was entered, packed two numbers per transition in one
 * array (a push per transition; an object per transition cost more at 10^5 transitions a
 * second than the rest of the tracker's bookkeeping). The sockets that reached CLOSE stay in a
 * ring of fixed size, so a connection that just ended can still be looked up, and a storm of
 * short connections costs a slot each, not memory that grows.
 */
import type { ConnectionHistory, StateSpan } from '../../model/agent-event.js';
import type { TcpState } from '../../model/tcp-state.js';
import { tcpStateFromKernel } from '../../model/tcp-state.js';

/** Transitions kept per socket (two numbers each); a TCP connection goes through at most 6. */
export const HISTORY_MAX_TRANSITIONS = 32;
/** The entry time of a state the socket was in when first seen. */
export const UNKNOWN_ENTRY = -1;

const CLOSE = 7;
const FIN_WAIT2 = 5;
const CLOSING = 11;

/** What the history needs of a tracked socket (TrackedSocket has it). */
export interface WithHistory {
  readonly history: number[] | null;
  readonly origin: 'active' | 'passive' | null;
  readonly rstReceived: boolean;
}

/**
 * Append one transition's new state, entered at `tsNs`. Past the cap the newest replaces the
 * last kept one, so the state the socket is in (or its CLOSE) is always the last span.
 */
export function recordState(history: number[], tsNs: number, state: number): void {
  const n = history.length;
  if (n < HISTORY_MAX_TRANSITIONS * 2) {
    history.push(tsNs, state);
    return;
  }
  history[n - 2] = tsNs;
  history[n - 1] = state;
}

/** The sockets that reached CLOSE, newest last, at most `capacity`. */
export class ClosedRing<T> {
  private readonly slots: (T | undefined)[];
  private next = 0;

  constructor(readonly capacity: number) {
    this.slots = new Array<T | undefined>(capacity);
  }

  add(item: T): void {
    this.slots[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
  }

  /** The newest item that matches, or undefined. */
  findNewest(match: (item: T) => boolean): T | undefined {
    for (let i = 1; i <= this.capacity; i++) {
      const item = this.slots[(this.next - i + this.capacity) % this.capacity];
      if (item === undefined) return undefined;
      if (match(item)) return item;
    }
    return undefined;
  }
}

/** The spans of a packed history; `wallMs` turns monotonic ns into wall-clock ms. */
export function historyOf(sock: WithHistory, wallMs: (tsNs: number) => number): ConnectionHistory | null {
  const h = sock.history;
  if (h === null || h.length === 0) return null;
  const states: StateSpan[] = [];
  for (let i = 0; i < h.length; i += 2) {
    const entered = h[i]!;
    const next = i + 2 < h.length ? h[i + 2]! : null;
    states.push({
      state: stateName(h[i + 1]!),
      sinceMs: entered === UNKNOWN_ENTRY ? null : wallMs(entered),
      durationMs: entered === UNKNOWN_ENTRY || next === null ? null : Math.round((next - entered) / 1000) / 1000,
    });
  }
  const last = h[h.length - 1]!;
  const beforeLast = h.length >= 4 ? h[h.length - 3]! : null;
  return {
    origin: sock.origin,
    states,
    handedOver: last === CLOSE && (beforeLast === FIN_WAIT2 || beforeLast === CLOSING) && !sock.rstReceived,
    truncated: h.length >= HISTORY_MAX_TRANSITIONS * 2,
  };
}

function stateName(n: number): TcpState {
  return tcpStateFromKernel(n) ?? 'CLOSE';
}
