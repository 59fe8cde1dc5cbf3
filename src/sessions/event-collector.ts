/**
 * The agent's continuous kernel event collector: the tracefs source of `tcpdiag trace` (a
 * private instance with inet_sock_set_state, tcp_retransmit_skb, tcp_retransmit_synack,
 * tcp_send_reset and tcp_receive_reset), the trace tracker that turns transitions into
 * connects, accepts, closes, failed connects, resets and retransmissions, and the agent's
 * aggregator (analysis/events/) into the store's events, per-second counts and rollups.
 *
 * The caller drives it: `poll()` on a short tick (the ring buffers are drained non-blocking,
 * 16 MiB per CPU held 150k events/s without loss, architecture.md), `flush()` about once a
 * second, `close()` at the end. Owners are not looked up: the /proc walk that names a
 * process costs more than the event, and the rollups are per listener and peer.
 *
 * Tracepoints carry no network namespace (include/trace/events/sock.h, tcp.h): an agent
 * running inside a namespace would count every namespace's events against its own counters,
 * so there the collector does not start and says why, unless events.in_namespace is
 * "own-addresses": then only the events whose local address is one of the namespace's own
 * non-loopback addresses are kept (loopback is in every namespace and is left out).
 */
import { statSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { openTcpEvents } from '../sources/events.js';
import { ensureTracefs } from '../sources/trace.js';
import type { TcpEventSource } from '../sources/source.js';
import type { TracepointName, RawTcpEvent } from '../model/kernel-event.js';
import type { AgentEvent, ConnectionHistory, EventCounter, RollupRow, SecondCount } from '../model/agent-event.js';
import type { TcpSocket } from '../model/socket.js';
import type { ProcessLookup } from '../model/process.js';
import { MODE_EVENTS } from '../analysis/trace/events.js';
import type { TraceEvent } from '../analysis/trace/events.js';
import { TraceTracker } from '../analysis/trace/tracker.js';
import { EventAggregator } from '../analysis/events/aggregate.js';
import type { ListenerOf } from '../analysis/events/aggregate.js';
import type { PeerTotals } from '../analysis/events/peer-totals.js';
import type { EndpointForms, EventStore } from '../store/events.js';
import type { Scope } from '../platform/scope.js';
import { ownNetnsInode } from '../platform/netns.js';
import { KernelFeatureError } from '../errors.js';

/**
 * Closed connections whose state history is kept (a slot each). A storm of 10,000 connections
 * a second turns the ring over in a fraction of a second; a person clicking a row of the
 * socket table looks at connections that are open or just ended.
 */
const CLOSED_HISTORIES = 4096;

const TRACEPOINTS: readonly TracepointName[] = ['inet_sock_set_state', 'tcp_retransmit_skb', 'tcp_retransmit_synack', 'tcp_send_reset', 'tcp_receive_reset'];

/** Owners are not looked up (see the header): every answer is "unknown". */
const NO_OWNERS: ProcessLookup = {
  byTid: () => null,
  listenerOwner: () => null,
  noteListener: () => undefined,
};

export interface EventCollectorOptions {
  readonly bufferKb: number;
  readonly slowStateMs: number;
  readonly maxRecordsPerSecond: number;
  readonly topPeers: number;
  readonly inNamespace: 'off' | 'own-addresses';
  readonly listenerOf: ListenerOf;
  readonly store: EventStore;
  /** Owns the tracefs instance. */
  readonly scope: Scope;
  /** Each kept (abnormal) event, and each closed second's counts, for the agent's bus. */
  readonly onEvent: (event: AgentEvent) => void;
  readonly onCounts: (atMs: number, counts: Readonly<Partial<Record<EventCounter, number>>>) => void;
  /** Each closed minute's rollups (per listener, per peer), as the store gets them. */
  readonly onRollups?: (rows: readonly RollupRow[]) => void;
}

export interface EventCollectorStatus {
  readonly running: boolean;
  /** Why it is not running (no root, no tracefs, a namespace), or null. */
  readonly reason: string | null;
  readonly hint: string | null;
  readonly backend: string | null;
  readonly lost: number;
  readonly rawEvents: number;
}

export class EventCollector {
  rawEvents = 0;
  private readonly tracker: TraceTracker;
  private readonly aggregator: EventAggregator;
  private readonly out: (e: TraceEvent) => void;
  private readonly visit: (raw: RawTcpEvent) => void;
  private lostSeen = 0;
  private closed = false;
  /** Inside a namespace with events.in_namespace = "own-addresses": its addresses; else null (keep all). */
  private own: ReadonlySet<string> | null;

  private constructor(private readonly source: TcpEventSource, private readonly options: EventCollectorOptions, inNamespace: boolean) {
    this.own = inNamespace ? ownAddresses() : null;
    this.warmUp();
    const startNs = Number(process.hrtime.bigint());
    this.tracker = new TraceTracker({
      emit: MODE_EVENTS.all,
      processes: NO_OWNERS,
      wallOffsetMs: Date.now() - startNs / 1e6,
      lookupConnections: false,
      closedHistories: CLOSED_HISTORIES,
    });
    this.aggregator = new EventAggregator({
      slowStateMs: options.slowStateMs,
      maxRecordsPerSecond: options.maxRecordsPerSecond,
      topPeers: options.topPeers,
      listenerOf: options.listenerOf,
    });
    const onEvent = options.onEvent;
    this.out = (e) => {
      const record = this.aggregator.add(e);
      if (record !== null) onEvent(record);
    };
    this.visit = (raw) => {
      this.rawEvents++;
      if (raw.kind === 'lost') this.aggregator.lost(Date.now(), raw.count ?? 0);
      else if (this.own !== null && !this.own.has(raw.localAddress)) return;
      this.tracker.process(raw, this.out);
    };
  }

  /**
   * Start tracing, or say why it cannot: a typed error with the hint that fixes it (root,
   * tracefs, a namespace). The instance belongs to `options.scope` from the moment it exists.
   */
  static async open(options: EventCollectorOptions): Promise<EventCollector> {
    const inNamespace = !inInitialNetns();
    if (inNamespace && options.inNamespace === 'off') {
      throw new KernelFeatureError('kernel events are host-wide (tracepoints carry no network namespace) and the agent runs inside a network namespace',
        'run tcpdiag serve in the host namespace for connection events, or set events.in_namespace = "own-addresses" to keep the events of this namespace\'s own addresses; counters and sockets stay per namespace');
    }
    const location = ensureTracefs('tcpdiag serve');
    const source = await openTcpEvents({
      root: location.root,
      bufferKb: options.bufferKb,
      scope: options.scope,
      detail: false,
      tracepoints: TRACEPOINTS.map((name) => ({ name, filter: null })),
    });
    return new EventCollector(source, options, inNamespace);
  }

  /**
   * V8 compiles the hot path as it runs: a storm that meets it cold costs ~30% more CPU and
   * stalls the event loop (bench/README.md, the trace bench). Made-up connections (the
   * source's warm-up pages, through the same decoders) go first through a tracker and an
   * aggregator of their own that nothing reads, so the classes' compiled code is ready.
   */
  private warmUp(): void {
    if (this.source.warmUp === undefined) return;
    const tracker = new TraceTracker({ emit: MODE_EVENTS.all, processes: NO_OWNERS, wallOffsetMs: 0, lookupConnections: false });
    const aggregator = new EventAggregator({ slowStateMs: this.options.slowStateMs, maxRecordsPerSecond: this.options.maxRecordsPerSecond, topPeers: this.options.topPeers, listenerOf: () => null });
    const out = (e: TraceEvent) => {
      aggregator.add(e);
    };
    this.source.warmUp((raw) => tracker.process(raw, out), 1, process.pid);
    aggregator.takeCounts(0, true);
    aggregator.takeRollups(0, true);
  }

  get backend(): string {
    return this.source.backend;
  }

  /** Events the kernel dropped before they were read (the stream's LOST markers and, at the end, its buffer counters). */
  get lost(): number {
    return Math.max(this.source.lost, this.lostSeen);
  }

  get totals(): Readonly<Record<EventCounter, number>> {
    return this.aggregator.totals;
  }

  /** Retransmissions and resets per peer since the start. */
  get peerTotals(): PeerTotals {
    return this.aggregator.peerTotals;
  }

  /** Read what the kernel holds now; returns how many raw events. */
  poll(): number {
    if (this.closed) return 0;
    const n = this.source.poll(this.visit);
    this.lostSeen = Math.max(this.lostSeen, this.source.lost);
    return n;
  }

  /** A socket table read (RTT, bytes). */
  observeSockets(atMs: number, sockets: readonly TcpSocket[]): void {
    this.aggregator.observeSockets(atMs, sockets);
  }

  /** One connection's states while the agent watched (open, or among the last closed ones); null when not seen. */
  connectionHistory(local: EndpointForms, remote: EndpointForms): ConnectionHistory | null {
    return this.tracker.history((s) => s.localPort === local.port && s.remotePort === remote.port && local.addresses.includes(s.localAddress) && remote.addresses.includes(s.remoteAddress));
  }

  /** The rollups of the minutes still filling (not in the store yet). */
  openRollups(): RollupRow[] {
    return this.aggregator.openRollups();
  }

  /** Write what is complete to the store (every second; all of it with `all`, at the end). */
  flush(nowMs: number, all = false): void {
    // An address added or removed in the namespace counts from the next second.
    if (this.own !== null) this.own = ownAddresses();
    const counts = this.aggregator.takeCounts(nowMs, all);
    const rollups = this.aggregator.takeRollups(nowMs, all);
    this.options.store.write(this.aggregator.takeRecords(), counts, rollups);
    for (const [ts, byCounter] of groupBySecond(counts)) this.options.onCounts(ts, byCounter);
    if (rollups.length > 0) this.options.onRollups?.(rollups);
  }

  /** Last poll, drain, remove the instance, write everything. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      this.source.poll(this.visit);
      this.source.drain(this.visit);
    } finally {
      this.closed = true;
      const summary = await this.source.close();
      this.lostSeen = Math.max(this.lostSeen, summary.lostReported, summary.kernelLost);
    }
    this.flush(Date.now(), true);
  }
}

/** This namespace's own non-loopback addresses (getifaddrs, which answers for the caller's namespace). */
function ownAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal) out.add(a.address);
  }
  return out;
}

function groupBySecond(counts: readonly SecondCount[]): Map<number, Partial<Record<EventCounter, number>>> {
  const out = new Map<number, Partial<Record<EventCounter, number>>>();
  for (const c of counts) {
    let m = out.get(c.ts);
    if (m === undefined) {
      m = {};
      out.set(c.ts, m);
    }
    m[c.counter] = c.n;
  }
  return out;
}

/**
 * The initial network namespace's inode is a constant on current kernels (PROC_NET_INIT_INO,
 * 0xEFFFFFF9, include/linux/proc_ns.h); older ones number it like any other, and then the
 * namespace of PID 1 or of kthreadd (PID 2, always in init_net) tells. /proc/1/ns may be
 * closed even to root (measured in a sandbox: EACCES), which must not read as "the host".
 */
const PROC_NET_INIT_INO = 0xeffffff9;

function inInitialNetns(): boolean {
  const own = ownNetnsInode();
  if (own === PROC_NET_INIT_INO) return true;
  for (const pid of [1, 2]) {
    try {
      return statSync(`/proc/${pid}/ns/net`).ino === own;
    } catch {
      // Not readable here: try the next witness.
    }
  }
  // No witness readable and an inode that is not the constant: an older kernel, most likely
  // the host (a container's namespace would hide PID 1 from us the same way): trust it.
  return true;
}
