/**
 * A connection's state history, as the trace tracker keeps it per socket: the kernel's state
 * numbers with the monotonic time each was entered, packed two numbers per transition in one
 * array on the tracked socket (a push per transition).
 *
 * The sockets that reached CLOSE are copied into a ring of fixed size, kept in typed arrays,
 * so a connection that just ended can still be looked up and a storm of short connections
 * costs a slot each. Copied, not referenced: a ring of socket objects keeps each of them alive
 * past the young generation's collections, which copy and then promote it. In the agent's
 * storm bench (10,000 connections a second) the object ring's one run had a /metrics p99 of
 * 56 ms, the copies' two 36 and 44 ms (bench/README.md: the histories cost 2.5-3 points of a
 * core there either way).
 */
import type { ConnectionHistory, StateSpan } from '../../model/agent-event.js';
import type { TcpState } from '../../model/tcp-state.js';
import { tcpStateFromKernel } from '../../model/tcp-state.js';

/** Transitions kept per socket (two numbers each); a TCP connection goes through at most 7. */
export const HISTORY_MAX_TRANSITIONS = 16;
/** The entry time of a state the socket was in when first seen. */
export const UNKNOWN_ENTRY = -1;

const CLOSE = 7;
const FIN_WAIT2 = 5;
const CLOSING = 11;
const NUMBERS = HISTORY_MAX_TRANSITIONS * 2;

/** The four-tuple a history is looked up by (TrackedSocket has it). */
export interface ConnectionKey {
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
}

/** What the history needs of a tracked socket (TrackedSocket has it). */
export interface WithHistory extends ConnectionKey {
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
  if (n < NUMBERS) {
    history.push(tsNs, state);
    return;
  }
  history[n - 2] = tsNs;
  history[n - 1] = state;
}

const ORIGINS = [null, 'active', 'passive'] as const;

/** The histories of the last `capacity` sockets that reached CLOSE. */
export class ClosedRing {
  private readonly numbers: Float64Array;
  private readonly lengths: Uint8Array;
  /** Origin (index in ORIGINS) and, in bit 2, a received reset. */
  private readonly flags: Uint8Array;
  private readonly localPorts: Uint16Array;
  private readonly remotePorts: Uint16Array;
  // The address strings are the events' own, shared by every socket of the same address.
  private readonly localAddresses: string[];
  private readonly remoteAddresses: string[];
  private next = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    this.numbers = new Float64Array(capacity * NUMBERS);
    this.lengths = new Uint8Array(capacity);
    this.flags = new Uint8Array(capacity);
    this.localPorts = new Uint16Array(capacity);
    this.remotePorts = new Uint16Array(capacity);
    this.localAddresses = new Array<string>(capacity).fill('');
    this.remoteAddresses = new Array<string>(capacity).fill('');
  }

  add(sock: WithHistory): void {
    const h = sock.history;
    if (h === null) return;
    const slot = this.next;
    this.numbers.set(h, slot * NUMBERS);
    this.lengths[slot] = h.length;
    this.flags[slot] = ORIGINS.indexOf(sock.origin) | (sock.rstReceived ? 4 : 0);
    this.localPorts[slot] = sock.localPort;
    this.remotePorts[slot] = sock.remotePort;
    this.localAddresses[slot] = sock.localAddress;
    this.remoteAddresses[slot] = sock.remoteAddress;
    this.next = (slot + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
  }

  /** The newest closed socket `match` picks, as a socket with its history; undefined when none. */
  findNewest(match: (key: ConnectionKey) => boolean): WithHistory | undefined {
    for (let i = 1; i <= this.size; i++) {
      const slot = (this.next - i + this.capacity) % this.capacity;
      const key: ConnectionKey = { localAddress: this.localAddresses[slot]!, localPort: this.localPorts[slot]!, remoteAddress: this.remoteAddresses[slot]!, remotePort: this.remotePorts[slot]! };
      if (!match(key)) continue;
      const flags = this.flags[slot]!;
      return {
        ...key,
        history: Array.from(this.numbers.subarray(slot * NUMBERS, slot * NUMBERS + this.lengths[slot]!)),
        origin: ORIGINS[flags & 3] ?? null,
        rstReceived: (flags & 4) !== 0,
      };
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
    truncated: h.length >= NUMBERS,
  };
}

function stateName(n: number): TcpState {
  return tcpStateFromKernel(n) ?? 'CLOSE';
}
