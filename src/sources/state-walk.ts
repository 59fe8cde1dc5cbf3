/**
 * When the state counts of the last walk still hold, so that a reader every second walks the
 * kernel's socket table only when a socket can have changed state.
 *
 * Counting the rare states (everything but ESTABLISHED and TIME_WAIT, which the kernel totals
 * itself: countTcpStatesWithTotals) is a sock_diag dump, and a dump walks the whole established
 * hash whatever it sends back (inet_diag_dump_icsk, net/ipv4/inet_diag.c): 262,144 buckets here
 * (net.ipv4.tcp_ehash_entries, sized from RAM at boot), 3.2 ms of kernel time per walk measured
 * with strace -c on the agent, a third of its idle cost at one walk a second.
 *
 * A TCP socket changes state only when
 * - a segment comes in or goes out (InSegs, OutSegs; a reset sent counts in OutSegs),
 * - it is hashed or unhashed: listen(), a connect that gives up, a close that sends nothing
 *   (sock_prot_inuse_add: sockstat's inuse, both families), or becomes or leaves a timewait
 *   socket (tw) or an orphan (orphan), or is allocated or freed (alloc);
 * - a request sock times out: tcp_syn_ack_timeout() counts TCPTimeouts on every expiry of its
 *   timer, the last one (which drops it, reqsk_timer_handler in net/ipv4/inet_connection_sock.c)
 *   included.
 * So while none of those moved, the last walk's counts and half-open children are still the
 * table's, and so is a whole table read with tcp_info (nothing but its timers and "last data
 * received" ages moves without a segment): the agent leaves its periodic read out too. A
 * reading older than its `maxAgeMs` is redone all the same: it bounds what a change these
 * counters do not see would cost.
 */
import type { Counters } from '../model/counters.js';
import type { ListenerChild } from '../model/listener.js';
import type { TcpState } from '../model/tcp-state.js';

const WITNESSES = [
  'InSegs', 'OutSegs', 'TCPTimeouts', 'CurrEstab',
  'SockstatInuse', 'SockstatOrphan', 'SockstatTw', 'SockstatAlloc', 'Sockstat6Inuse',
] as const;

/**
 * Whether the socket table can have changed since a reading, going by the counters read before
 * it and the counters read now (see above for why these witnesses suffice).
 */
export class TableWitness {
  private witnessed: (number | undefined)[] | null = null;
  private atMs = -Infinity;

  /** `maxAgeMs`: a reading older than this is never trusted. */
  constructor(private readonly maxAgeMs: number) {}

  /** No socket can have changed state (or moved a segment) since remember(), going by `counters` read now. */
  stillHolds(counters: Counters, nowMs: number): boolean {
    const previous = this.witnessed;
    if (previous === null || nowMs - this.atMs >= this.maxAgeMs) return false;
    for (let i = 0; i < WITNESSES.length; i++) {
      // A witness the kernel does not print (no IPv6: no sockstat6) reads as undefined both times.
      if (counters[WITNESSES[i]!] !== previous[i]) return false;
    }
    return true;
  }

  /** A reading made just now, after these counters were read. */
  remember(counters: Counters, nowMs: number): void {
    this.witnessed = WITNESSES.map((name) => counters[name]);
    this.atMs = nowMs;
  }
}

export interface StateWalk {
  readonly states: Partial<Record<TcpState, number>>;
  readonly halfOpen: readonly ListenerChild[];
}

/** The last state walk, and whether it still holds. */
/**
 * How long a reading the witnesses vouch for is trusted (the agent's socket table and its
 * state walks): they see every change, so the age bound is a backstop. At 5 s the idle agent
 * walked 12 times a minute, ~4 ms of kernel and decode time each (bench/README.md).
 */
export const WITNESSED_MAX_AGE_MS = 30_000;

export class StateWalkMemo {
  private readonly witness: TableWitness;
  private last: StateWalk | null = null;
  /** Walks left out so far. */
  reused = 0;

  constructor(maxAgeMs = WITNESSED_MAX_AGE_MS) {
    this.witness = new TableWitness(maxAgeMs);
  }

  /** The last walk, when these counters (read now) say it still holds; null: walk again. */
  reusable(counters: Counters, nowMs: number): StateWalk | null {
    if (this.last === null || !this.witness.stillHolds(counters, nowMs)) return null;
    this.reused++;
    return this.last;
  }

  /** A walk just made, with the counters read before it. */
  remember(counters: Counters, nowMs: number, walk: StateWalk): void {
    this.witness.remember(counters, nowMs);
    this.last = walk;
  }
}
