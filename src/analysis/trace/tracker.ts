/**
 * Turns raw tracepoint events into tcpdiag's trace events: connects with their latency,
 * failed connects with their cause, accepts with their listener's owner, state transitions
 * with the time spent in the old state, retransmissions by kind, resets, and one close line
 * per connection. Per-socket memory is keyed by the struct sock address (skaddr), which is
 * stable for the socket's life and reused only after it reaches CLOSE, when we forget it.
 *
 * Kernel facts this rests on (net/ipv4/tcp*.c, observed on 6.18):
 * - an active open is CLOSE->SYN_SENT (in connect(), process context, sport still 0), then
 *   SYN_SENT->ESTABLISHED, or SYN_SENT->CLOSE on failure;
 * - a passive open shows the child socket going LISTEN->SYN_RECV (it is cloned from the
 *   listener, tcp_create_openreq_child) then SYN_RECV->ESTABLISHED, both in softirq, so the
 *   task on the CPU is not the owner: the listener's owner is;
 * - the full socket of an active closer goes FIN_WAIT2->CLOSE when its TIME_WAIT mini-socket
 *   takes over (tcp_time_wait); TIME_WAIT itself has no transition of its own.
 */
import type { RawTcpEvent, SocketDetail } from '../../model/kernel-event.js';
import type { Owner, ProcessLookup } from '../../model/process.js';
import type { AddressFamily, Endpoint } from '../../model/socket.js';
import type { TcpState } from '../../model/tcp-state.js';
import { tcpStateFromKernel } from '../../model/tcp-state.js';
import type { ConnectFailReason, EventHead, RetransmitEvent, StateEvent, TraceEvent, TraceEventType } from './events.js';
import type { ConnectionHistory } from '../../model/agent-event.js';
import { ClosedRing, UNKNOWN_ENTRY, historyOf, recordState } from './history.js';
import type { ConnectionKey, WithHistory } from './history.js';

const ESTABLISHED = 1;
const SYN_SENT = 2;
const SYN_RECV = 3;
const CLOSE = 7;
const FIN_WAIT1 = 4;
const FIN_WAIT2 = 5;
const CLOSE_WAIT = 8;
const LAST_ACK = 9;
const LISTEN = 10;
const CLOSING = 11;
const NOT_YET_OPEN = new Set([SYN_SENT, SYN_RECV, CLOSE, LISTEN, 12 /* NEW_SYN_RECV */]);

export interface TrackedSocket {
  state: number;
  sinceNs: number;
  startNs: number | null;
  origin: 'active' | 'passive' | null;
  owner: Owner | null;
  /** The socket table was asked for the owner (once per socket: a miss may cost a table scan). */
  ownerLookedUp: boolean;
  synSentNs: number | null;
  synRecvNs: number | null;
  rstReceived: boolean;
  synRetransmits: number;
  dataRetransmits: number;
  everEstablished: boolean;
  /** Our FIN was acknowledged / the peer's FIN arrived: each takes one sequence number that tcp_sock's byte counters include. */
  ourFinAcked: boolean;
  peerFinReceived: boolean;
  family: AddressFamily;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** The endpoints as objects, replaced only when they change: events share them (and the JSON writer caches by them). */
  local: Endpoint;
  remote: Endpoint;
  /** Its states and when each was entered (history.ts), when the tracker keeps histories; else null. */
  history: number[] | null;
}

export interface TrackerOptions {
  /** Which event types to produce (others are still tracked, not emitted). */
  readonly emit: ReadonlySet<TraceEventType>;
  readonly processes: ProcessLookup;
  /** Wall-clock ms at monotonic 0: ts = wallOffsetMs + tsNs / 1e6. */
  readonly wallOffsetMs: number;
  /** Forget a socket once its open completes or fails (the kernel filter hides the rest). */
  readonly forgetWhenOpen?: boolean;
  /** Keep what FIN_WAIT2 sockets handed over to a TIME_WAIT mini-socket (states --stats). */
  readonly keepHandovers?: boolean;
  /** Ask the socket table for owners the events do not give (default true; not for made-up events). */
  readonly lookupConnections?: boolean;
  /** Keep each socket's state history, and that of this many closed ones (0 or absent: none). */
  readonly closedHistories?: number;
}

/**
 * How long a FIN_WAIT2 mini-socket can live: the handover happens only when tcp_fin_timeout is
 * at most TCP_TIMEWAIT_LEN, 60 s (tcp_rcv_state_process, tcp_close); longer ones keep the full
 * socket in FIN_WAIT2, with transitions of its own. Kept twice that from entering FIN_WAIT2,
 * which may precede the handover (shutdown() first, close() later).
 */
const HANDOVER_MAX_NS = 120e9;

/** Upper bound on remembered sockets; beyond it the oldest knowledge is dropped (durations null). */
const MAX_TRACKED = 1_000_000;

export class TraceTracker {
  readonly sockets = new Map<number, TrackedSocket>();
  /**
   * Sockets that went FIN_WAIT2 -> CLOSE, as they were in FIN_WAIT2, by skaddr, oldest first.
   * The kernel hands an orphaned FIN_WAIT2 socket to a TIME_WAIT mini-socket in substate
   * FIN_WAIT2 (tcp_time_wait(sk, TCP_FIN_WAIT2, tmo)) that the socket table lists as FIN_WAIT2
   * with no transition of its own: its time in FIN_WAIT2 began at the full socket's transition.
   */
  readonly handovers = new Map<number, TrackedSocket>();
  /** Transition counts by kernel state numbers, old * 16 + new (a string key per event cost more than the rest of the bookkeeping). */
  private readonly transitionCounts = new Float64Array(256);
  private readonly emit: ReadonlySet<TraceEventType>;
  private readonly emitState: boolean;
  private readonly emitConnect: boolean;
  private readonly emitFailed: boolean;
  private readonly emitAccept: boolean;
  private readonly emitClose: boolean;

  private readonly wallOffsetMs: number;
  /** The sockets that reached CLOSE, for their histories; null when histories are not kept. */
  private readonly closed: ClosedRing | null;

  constructor(private readonly options: TrackerOptions) {
    this.wallOffsetMs = options.wallOffsetMs;
    this.closed = (options.closedHistories ?? 0) > 0 ? new ClosedRing(options.closedHistories!) : null;
    this.emit = options.emit;
    this.emitState = options.emit.has('state');
    this.emitConnect = options.emit.has('connect');
    this.emitFailed = options.emit.has('connect-failed');
    this.emitAccept = options.emit.has('accept');
    this.emitClose = options.emit.has('close');
  }

  /** Transition counts, "OLD->NEW" -> n (states --stats). */
  get transitions(): Map<string, number> {
    const counts = new Map<string, number>();
    this.transitionCounts.forEach((n, i) => {
      if (n > 0) counts.set(`${stateName(Math.floor(i / 16))}->${stateName(i % 16)}`, n);
    });
    return counts;
  }

  private readonly stateScratch: { -readonly [K in keyof StateEvent]: StateEvent[K] } = {
    type: 'state', ts: 0, family: 4, local: null, remote: null, pid: null, process: null,
    oldState: 'CLOSE', newState: 'CLOSE', durationMs: null,
  };

  /**
   * Process one raw event; hands what it produces to `out`. A state event object is reused for
   * the next one once `out` returns (10^5 a second): copy it (`{ ...event }`) to keep it.
   */
  process(raw: RawTcpEvent, out: (event: TraceEvent) => void): void {
    switch (raw.kind) {
      case 'state':
        this.onState(raw, out);
        return;
      case 'retransmit':
      case 'retransmit-synack':
        this.onRetransmit(raw, out);
        return;
      case 'receive-reset':
      case 'send-reset':
        this.onReset(raw, out);
        return;
      case 'drop':
        this.onDrop(raw, out);
        return;
      case 'lost':
        if (this.emit.has('lost')) {
          out({ type: 'lost', ts: this.ts(raw.tsNs), family: null, local: null, remote: null, pid: null, process: null, count: raw.count, cpu: raw.cpu });
        }
        return;
    }
  }

  private onState(raw: RawTcpEvent, out: (event: TraceEvent) => void): void {
    const { oldState, newState, tsNs } = raw;
    if (oldState >= 0 && oldState < 16 && newState >= 0 && newState < 16) {
      const index = oldState * 16 + newState;
      this.transitionCounts[index] = (this.transitionCounts[index] ?? 0) + 1;
    }
    let sock = this.sockets.get(raw.skaddr);
    let carriedOwner: Owner | null = null;
    if (sock !== undefined && sock.state !== oldState) {
      // The socket's last known state is not this event's old state: events in between were
      // lost (or filtered out). Its timing is unknown from here; only its owner carries over.
      carriedOwner = sock.owner;
      this.sockets.delete(raw.skaddr);
      sock = undefined;
    }
    let durationNs: number | null = sock === undefined || oldState === CLOSE ? null : tsNs - sock.sinceNs;
    const enteredOldStateNs = sock?.sinceNs ?? tsNs;
    if (oldState === CLOSE && (newState === SYN_SENT || newState === LISTEN)) {
      sock = this.track(raw, 'active');
      sock.synSentNs = newState === SYN_SENT ? tsNs : null;
      if (newState === LISTEN) sock.origin = null;
    } else if (oldState === LISTEN && newState === SYN_RECV) {
      // The child of a listener: the listener's time in LISTEN is not this socket's.
      durationNs = null;
      sock = this.track(raw, 'passive');
      sock.synRecvNs = tsNs;
      sock.owner = this.options.processes.listenerOwner(raw.family, raw.localPort);
    } else if (sock === undefined) {
      sock = this.track(raw, null);
      sock.owner = carriedOwner;
    }
    if (sock.owner === null && !raw.inInterrupt && raw.tid > 0) sock.owner = this.options.processes.byTid(raw.tid);
    else if (sock.owner === null && !sock.ownerLookedUp && raw.localPort !== 0 && newState !== CLOSE && this.options.lookupConnections !== false) {
      // In softirq, on a socket opened before the trace: the task on the CPU is not the owner
      // (the peer's process on loopback, or an idle CPU's swapper); the socket table knows it.
      sock.ownerLookedUp = true;
      sock.owner = this.options.processes.connectionOwner?.(raw.family, raw.localAddress, raw.localPort, raw.remoteAddress, raw.remotePort) ?? null;
    }
    if (oldState === CLOSE && newState === LISTEN && sock.owner !== null) this.options.processes.noteListener(raw.family, raw.localPort, sock.owner);
    // The 4-tuple is complete from the first transition after connect() picked a port.
    if (raw.localPort !== 0 && (raw.localPort !== sock.localPort || raw.localAddress !== sock.localAddress)) {
      sock.localPort = raw.localPort;
      sock.localAddress = raw.localAddress;
      sock.local = { address: raw.localAddress, port: raw.localPort };
    }
    if (raw.remotePort !== sock.remotePort || raw.remoteAddress !== sock.remoteAddress) {
      sock.remotePort = raw.remotePort;
      sock.remoteAddress = raw.remoteAddress;
      sock.remote = { address: raw.remoteAddress, port: raw.remotePort };
    }
    sock.state = newState;
    sock.sinceNs = tsNs;
    if (sock.history !== null) recordState(sock.history, tsNs, newState);
    if (newState === ESTABLISHED) sock.everEstablished = true;
    // net/ipv4/tcp_input.c: FIN_WAIT1->FIN_WAIT2 and LAST_ACK/CLOSING->CLOSE happen when our FIN
    // is acked; CLOSE_WAIT, CLOSING and FIN_WAIT2->CLOSE (TIME_WAIT) when the peer's FIN arrives.
    if ((oldState === FIN_WAIT1 && (newState === FIN_WAIT2 || newState === CLOSE)) || ((oldState === LAST_ACK || oldState === CLOSING) && newState === CLOSE)) sock.ourFinAcked = true;
    if (newState === CLOSE_WAIT || newState === CLOSING || ((oldState === FIN_WAIT2 || oldState === FIN_WAIT1) && newState === CLOSE)) sock.peerFinReceived = true;

    // Explicit literals, not spreads: this runs 10^5 times a second.
    if (this.emitState) {
      const owner = this.owner(raw, sock);
      // One reused object for the most frequent event (see `process`: consumers copy what they keep).
      const event = this.stateScratch;
      event.ts = this.ts(tsNs);
      event.family = sock.family;
      event.local = sock.local;
      event.remote = sock.remote;
      event.pid = owner === null ? null : owner.pid;
      event.process = owner === null ? null : owner.process;
      event.oldState = stateName(oldState);
      event.newState = stateName(newState);
      event.durationMs = durationNs === null ? null : round3(durationNs / 1e6);
      out(raw.detail === null ? event : { ...event, detail: raw.detail });
    }
    if (oldState === SYN_SENT && newState === ESTABLISHED && this.emitConnect) {
      const c = this.common(raw, sock);
      out({
        type: 'connect', ts: c.ts, family: c.family, local: c.local, remote: c.remote, pid: c.pid, process: c.process,
        latencyMs: sock.synSentNs === null ? null : round3((tsNs - sock.synSentNs) / 1e6),
      });
    }
    if (oldState === SYN_SENT && newState === CLOSE && this.emitFailed) {
      const c = this.common(raw, sock);
      out({
        type: 'connect-failed', ts: c.ts, family: c.family, local: c.local, remote: c.remote, pid: c.pid, process: c.process,
        reason: failReason(sock, raw),
        durationMs: sock.synSentNs === null ? null : round3((tsNs - sock.synSentNs) / 1e6),
        synRetransmits: sock.synRetransmits,
      });
    }
    if (oldState === SYN_RECV && newState === ESTABLISHED && sock.origin === 'passive' && this.emitAccept) {
      const c = this.common(raw, sock);
      out({
        type: 'accept', ts: c.ts, family: c.family, local: c.local, remote: c.remote, pid: c.pid, process: c.process,
        listener: { address: sock.localAddress, port: sock.localPort },
        handshakeMs: sock.synRecvNs === null ? null : round3((tsNs - sock.synRecvNs) / 1e6),
      });
    }
    if (newState === CLOSE) {
      if (oldState === FIN_WAIT2 && durationNs !== null && this.options.keepHandovers === true) this.noteHandover(raw.skaddr, sock, enteredOldStateNs, tsNs);
      if (oldState !== LISTEN && sock.everEstablished && this.emitClose) {
        const c = this.common(raw, sock);
        out({
          type: 'close', ts: c.ts, family: c.family, local: c.local, remote: c.remote, pid: c.pid, process: c.process,
          durationMs: sock.startNs === null ? null : round3((tsNs - sock.startNs) / 1e6),
          bytesSent: raw.detail === null ? null : payloadBytesSent(sock, raw.detail),
          bytesReceived: raw.detail === null ? null : Math.max(0, raw.detail.bytesReceived - (sock.peerFinReceived ? 1 : 0)),
          origin: sock.origin,
        });
      }
      this.sockets.delete(raw.skaddr);
      if (this.closed !== null && oldState !== LISTEN) this.closed.add(sock);
    } else if (this.options.forgetWhenOpen === true && (oldState === SYN_SENT || oldState === SYN_RECV)) {
      // connect/accept modes filter later transitions out in the kernel: no CLOSE will come.
      this.sockets.delete(raw.skaddr);
    }
  }

  private noteHandover(skaddr: number, sock: TrackedSocket, enteredNs: number, nowNs: number): void {
    this.handovers.delete(skaddr);
    this.handovers.set(skaddr, { ...sock, state: FIN_WAIT2, sinceNs: enteredNs });
    for (const [key, old] of this.handovers) {
      if (nowNs - old.sinceNs <= HANDOVER_MAX_NS && this.handovers.size <= MAX_TRACKED) break;
      this.handovers.delete(key);
    }
  }

  private onRetransmit(raw: RawTcpEvent, out: (event: TraceEvent) => void): void {
    const synack = raw.kind === 'retransmit-synack';
    const sock = synack ? undefined : this.sockets.get(raw.skaddr);
    const kind: RetransmitEvent['kind'] = synack ? 'synack' : raw.oldState === SYN_SENT ? 'syn' : 'data';
    const error = raw.error;
    // Only attempts that went out are retransmissions the peer can see.
    if (sock !== undefined && error === null) {
      if (kind === 'syn') sock.synRetransmits++;
      else sock.dataRetransmits++;
    }
    if (!this.emit.has('retransmit')) return;
    // For a SYN-ACK, skaddr is the listener: its owner is the listener's.
    const owner = synack ? this.options.processes.listenerOwner(raw.family, raw.localPort) : this.ownerOf(raw, sock);
    const common = {
      type: 'retransmit' as const,
      ...this.head(raw, owner),
      kind,
      state: synack ? 'SYN_RECV' as const : stateOrNull(raw.oldState),
      // A SYN-ACK is one segment (tcp_rtx_synack adds 1 to RetransSegs).
      segments: synack ? 1 : raw.count,
    };
    // Field order as JSON prints it: failed, error, then segments.
    const { segments, ...rest } = common;
    out(error === null ? { ...rest, failed: false, segments } : { ...rest, failed: true, error, segments });
  }

  private onReset(raw: RawTcpEvent, out: (event: TraceEvent) => void): void {
    const sock = raw.skaddr === 0 ? undefined : this.sockets.get(raw.skaddr);
    const received = raw.kind === 'receive-reset';
    if (received && sock !== undefined) sock.rstReceived = true;
    if (!this.emit.has('reset')) return;
    const owner = this.ownerOf(raw, sock);
    const state = received ? (sock === undefined ? null : stateOrNull(sock.state)) : stateOrNull(raw.oldState);
    out({
      type: 'reset',
      ...this.head(raw, owner),
      direction: received ? 'received' : 'sent',
      reason: received ? null : raw.reason,
      state,
    });
  }

  private onDrop(raw: RawTcpEvent, out: (event: TraceEvent) => void): void {
    if (!this.emit.has('drop')) return;
    const sock = raw.skaddr === 0 ? undefined : this.sockets.get(raw.skaddr);
    // A listener's drops (a full accept or SYN queue) belong to the listener's owner.
    const owner = raw.oldState === LISTEN ? this.options.processes.listenerOwner(raw.family, raw.localPort) : this.ownerOf(raw, sock);
    out({
      type: 'drop',
      ...this.head(raw, owner),
      reason: raw.reason ?? 'NOT_SPECIFIED',
      direction: raw.drop?.direction ?? 'in',
      state: stateOrNull(raw.oldState),
      flags: raw.drop?.tcpFlags == null ? null : tcpFlagLetters(raw.drop.tcpFlags),
      location: raw.drop?.location ?? null,
    });
  }

  /** The fields every connection event starts with, in the order JSON prints them. */
  private head(raw: RawTcpEvent, owner: Owner | null): EventHead {
    return {
      ts: this.ts(raw.tsNs),
      family: raw.family,
      local: { address: raw.localAddress, port: raw.localPort },
      remote: { address: raw.remoteAddress, port: raw.remotePort },
      pid: owner?.pid ?? null,
      process: owner?.process ?? null,
    };
  }

  /**
   * Who owns the socket of a retransmission or reset: what its tracked transitions said, else
   * the task on the CPU when the event ran in process context, else (timers and softirq: most
   * retransmissions) the socket table's owner of the 4-tuple.
   */
  private ownerOf(raw: RawTcpEvent, sock: TrackedSocket | undefined): Owner | null {
    if (sock?.owner) return sock.owner;
    if (!raw.inInterrupt && raw.tid > 0) return raw.comm !== null ? { pid: raw.tid, process: raw.comm } : this.options.processes.byTid(raw.tid);
    if (raw.localPort === 0 || this.options.lookupConnections === false) return null;
    const owner = this.options.processes.connectionOwner?.(raw.family, raw.localAddress, raw.localPort, raw.remoteAddress, raw.remotePort) ?? null;
    if (sock !== undefined && owner !== null) sock.owner = owner;
    return owner;
  }

  private track(raw: RawTcpEvent, origin: 'active' | 'passive' | null): TrackedSocket {
    if (this.sockets.size >= MAX_TRACKED) this.sockets.clear();
    const sock: TrackedSocket = {
      state: raw.oldState,
      sinceNs: raw.tsNs,
      startNs: origin === null ? null : raw.tsNs,
      origin,
      owner: null,
      ownerLookedUp: false,
      synSentNs: null,
      synRecvNs: null,
      rstReceived: false,
      synRetransmits: 0,
      dataRetransmits: 0,
      // First seen mid-life (opened before the trace) in ESTABLISHED or a closing state.
      everEstablished: origin === null && !NOT_YET_OPEN.has(raw.oldState),
      ourFinAcked: false,
      peerFinReceived: false,
      family: raw.family,
      localAddress: raw.localAddress,
      localPort: raw.localPort,
      remoteAddress: raw.remoteAddress,
      remotePort: raw.remotePort,
      local: { address: raw.localAddress, port: raw.localPort },
      remote: { address: raw.remoteAddress, port: raw.remotePort },
      // A socket first seen mid-life was in its old state since before the trace.
      history: this.closed === null ? null : origin === null ? [UNKNOWN_ENTRY, raw.oldState] : [],
    };
    this.sockets.set(raw.skaddr, sock);
    return sock;
  }

  private owner(raw: RawTcpEvent, sock: TrackedSocket): Owner | null {
    if (sock.owner !== null) return sock.owner;
    return raw.comm !== null && !raw.inInterrupt ? { pid: raw.tid, process: raw.comm } : null;
  }

  private common(raw: RawTcpEvent, sock: TrackedSocket) {
    const owner = this.owner(raw, sock);
    return {
      ts: this.ts(raw.tsNs),
      family: sock.family,
      local: sock.local,
      remote: sock.remote,
      pid: owner === null ? null : owner.pid,
      process: owner === null ? null : owner.process,
    };
  }

  /**
   * The state history of the connection `match` picks: an open socket's, else the newest
   * closed one's; null when it was not seen (or histories are not kept). Scans every tracked
   * socket: it answers a person's click, not the event path.
   */
  history(match: (key: ConnectionKey) => boolean): ConnectionHistory | null {
    if (this.closed === null) return null;
    let found: WithHistory | undefined;
    for (const sock of this.sockets.values()) {
      if (match(sock)) {
        found = sock;
        break;
      }
    }
    found ??= this.closed.findNewest(match);
    return found === undefined ? null : historyOf(found, (tsNs) => this.ts(tsNs));
  }

  private ts(tsNs: number): number {
    return round3(this.wallOffsetMs + tsNs / 1e6);
  }
}

/**
 * Why a connect failed, from what the socket went through in SYN_SENT: an RST in answer to the
 * first SYN is "refused" (ECONNREFUSED); an RST after SYN retransmissions is "reset"; SYN
 * retransmissions without answer, or the application giving up (close() in process context),
 * is "timeout"; an abort from softirq without RST is an ICMP error (tcp_v4_err: "unreachable").
 */
export function failReason(sock: TrackedSocket, raw: RawTcpEvent): ConnectFailReason {
  if (sock.rstReceived) return sock.synRetransmits > 0 ? 'reset' : 'refused';
  if (sock.synRetransmits > 0 || !raw.inInterrupt) return 'timeout';
  return 'unreachable';
}

/**
 * Payload bytes the peer acknowledged (what tcplife calls TX): tcp_sock.bytes_acked counts
 * sequence space, so it includes an active opener's SYN and our FIN once acked; bytes_sent
 * (payload incl. retransmissions) bounds it when the socket's history is unknown.
 */
function payloadBytesSent(sock: TrackedSocket, detail: SocketDetail): number {
  const control = (sock.origin === 'active' && sock.everEstablished ? 1 : 0) + (sock.ourFinAcked ? 1 : 0);
  return Math.max(0, Math.min(detail.bytesSent, detail.bytesAcked - control));
}

/** tcpdump's letters for TCP flags, in its order (print-tcp.c): F S R P U, then "." for ACK. */
export function tcpFlagLetters(flags: number): string {
  let text = '';
  if (flags & 0x01) text += 'F';
  if (flags & 0x02) text += 'S';
  if (flags & 0x04) text += 'R';
  if (flags & 0x08) text += 'P';
  if (flags & 0x20) text += 'U';
  if (flags & 0x10) text += '.';
  return text === '' ? 'none' : text;
}

/** Names by kernel number, looked up twice per event. */
const STATE_NAMES: readonly TcpState[] = Array.from({ length: 16 }, (_, n) => tcpStateFromKernel(n) ?? 'CLOSE');

function stateName(n: number): TcpState {
  return n >= 0 && n < 16 ? STATE_NAMES[n]! : 'CLOSE';
}

function stateOrNull(n: number): TcpState | null {
  return n === 0 ? null : (tcpStateFromKernel(n) ?? null);
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
