/**
 * The agent's collection: three collectors on the collector's non-overlapping ticks, each
 * writing into one in-memory snapshot that /metrics and the API read without waiting:
 * - counters and state counts every counters interval (1 s), also written to the history as
 *   the 1 s series;
 * - the listener table on the same interval (a dump of LISTEN sockets and their request socks,
 *   no owner scan; the established children are counted from the socket sample);
 * - the whole socket table with tcp_info every sample interval (5 s), in the collection worker
 *   (offThread) so the HTTP server keeps answering while 60,000 sockets are parsed; each sample
 *   is judged by the alert loop of `tcpdiag watch` (same engine, evidence and sinks), and every
 *   diagnose interval the diagnosis rules judge the window since the last judgement.
 * - kernel events continuously, as root (sessions/event-collector.ts): drained every
 *   events poll interval, written to the store every second; the socket table's reads add
 *   RTT and bytes to its rollups. Without root or tracefs it says so once; the rest runs.
 * The history is rolled up into its 1 min and 1 h tiers and trimmed every minute.
 */
import { counterSource, listenerSource, socketSource, TableWitness, WITNESSED_MAX_AGE_MS } from '../sources/index.js';
import { summarizeListeners } from '../analysis/listeners.js';
import type { DiagnoseSources } from '../sources/diagnose.js';
import type { CounterSample } from '../model/counters.js';
import type { ListenerSummary } from '../model/listener.js';
import type { TcpSocket } from '../model/socket.js';
import type { Issue } from '../model/issue.js';
import type { Finding } from '../model/finding.js';
import type { AlertTransition } from '../model/alert.js';
import { TCP_STATES } from '../model/tcp-state.js';
import type { WatchSample } from '../alerts/metrics.js';
import type { Thresholds } from '../diagnose/rule.js';
import { runCollector } from '../sessions/collector.js';
import type { CollectorSummary, TickResult } from '../sessions/collector.js';
import { AlertLoop, diagnoseSamples, parsePortRange } from '../sessions/watch-session.js';
import type { WatchOptions } from '../sessions/watch-session.js';
import type { HistoryStore, RetentionOptions } from '../store/history.js';
import { EventStore } from '../store/events.js';
import type { EndpointForms } from '../store/events.js';
import { EventCollector } from '../sessions/event-collector.js';
import type { EventCollectorStatus } from '../sessions/event-collector.js';
import { listenerIndex } from '../analysis/events/listener-of.js';
import type { ListenerOf } from '../analysis/events/aggregate.js';
import { RttHistogram, rttPercentiles } from '../analysis/events/rtt.js';
import type { RttPercentiles } from '../analysis/events/rtt.js';
import type { Scope } from '../platform/scope.js';
import type { ConnectionHistory, EventCounter, RollupRow } from '../model/agent-event.js';
import { TcpdiagError } from '../errors.js';
import type { AgentSnapshot } from '../sinks/prometheus/metrics.js';
import { AgentBus } from './bus.js';

export interface AgentEventOptions {
  readonly bufferKb: number;
  readonly pollIntervalMs: number;
  readonly slowStateMs: number;
  readonly maxRecordsPerSecond: number;
  readonly maxEvents: number;
  readonly keepMs: number;
  readonly topPeers: number;
  /** What to do inside a network namespace (config events.in_namespace). */
  readonly inNamespace: 'off' | 'own-addresses';
  /** Owns the tracefs instance. */
  readonly scope: Scope;
}

export interface AgentOptions {
  readonly countersIntervalMs: number;
  readonly socketsIntervalMs: number;
  /** 0: diagnose only on request. */
  readonly diagnoseIntervalMs: number;
  readonly retention: RetentionOptions;
  readonly thresholds: Thresholds;
  readonly alerts: Omit<WatchOptions, 'intervalMs' | 'signal' | 'onTransition' | 'note' | 'thresholds'>;
  readonly store: HistoryStore;
  /** For the evidence of a firing (the socket table re-read with owners). */
  readonly evidenceSources: Pick<DiagnoseSources, 'sockets' | 'counters' | 'sysctls'>;
  readonly signal: AbortSignal;
  /** Problems for the log (each code once per collector). */
  readonly note: (text: string) => void;
  readonly onTransition?: (t: AlertTransition) => void;
  /** The kernel event collector; null: off (events.enabled = false). */
  readonly events: AgentEventOptions | null;
}

export interface CollectorState {
  ticks: number;
  late: number;
  failed: number;
  lastAtMs: number | null;
  lastLagMs: number;
  lastTookMs: number;
  lastIssue: Issue | null;
}

const COLLECTORS = ['counters', 'listeners', 'sockets', 'events'] as const;
const EVENT_FLUSH_EVERY_MS = 1000;
const EVENTS_IDLE_POLL_MS = 500;
export type CollectorName = (typeof COLLECTORS)[number];
const MAINTAIN_EVERY_MS = 60_000;
const SYSCTL_EVERY_MS = 60_000;

const listenerKey = (l: Pick<ListenerSummary, 'family' | 'local'>): string => `${l.family}|${l.local.address}|${l.local.port}`;

/** The counters kept in the 1 s series as per-second rates (the rest of the kernel's are in /api/v1/stats). */
export const RATE_SERIES: Readonly<Record<string, string>> = {
  retransmits_per_s: 'RetransSegs',
  segments_sent_per_s: 'OutSegs',
  active_opens_per_s: 'ActiveOpens',
  passive_opens_per_s: 'PassiveOpens',
  attempt_fails_per_s: 'AttemptFails',
  resets_sent_per_s: 'OutRsts',
  listen_overflows_per_s: 'ListenOverflows',
  listen_drops_per_s: 'ListenDrops',
  syn_retransmits_per_s: 'TCPSynRetrans',
};

/**
 * The control packets no SNMP counter counts, from the kernel event collector's totals
 * (as root with tracefs; absent otherwise rather than a false zero). With the kernel's
 * ActiveOpens (SYN sent: TCP_MIB_ACTIVEOPENS in tcp_connect), PassiveOpens (SYN-ACK answered:
 * TCP_MIB_PASSIVEOPENS in tcp_create_openreq_child), TCPSynRetrans (SYN and SYN-ACK
 * retransmitted: LINUX_MIB_TCPSYNRETRANS) and OutRsts (RST sent: TCP_MIB_OUTRSTS in
 * tcp_v4_send_reset and tcp_send_active_reset), all in include/uapi/linux/snmp.h, they are the
 * overview's SYN, SYN-ACK, FIN and RST chart.
 */
export const EVENT_RATE_SERIES: Readonly<Record<string, EventCounter>> = {
  fins_sent_per_s: 'fin.sent',
  fins_received_per_s: 'fin.received',
  resets_received_per_s: 'reset.received',
};

/** The RTT percentiles of the last socket table read, in every 1 s sample (ms). */
export const RTT_SERIES = { rtt_p50_ms: 'p50Ms', rtt_p90_ms: 'p90Ms', rtt_p99_ms: 'p99Ms' } as const;

export class Agent {
  readonly startedAtMs = Date.now();
  counters: CounterSample | null = null;
  previousCounters: CounterSample | null = null;
  countersAtMs: number | null = null;
  listeners: readonly ListenerSummary[] | null = null;
  sockets: { readonly data: readonly TcpSocket[]; readonly takenAtMs: number; readonly tcpInfo: boolean } | null = null;
  findings: readonly Finding[] = [];
  findingsAtMs: number | null = null;
  readonly collectors: Record<CollectorName, CollectorState>;
  /** What happened, for the stream, the exporters and the escalation (model/stream.ts). */
  readonly bus: AgentBus;
  private readonly alerts: AlertLoop;
  private sysctl: Record<string, string | null> = {};
  private sysctlAtMs = -Infinity;
  /**
   * The socket table is read again only when the counters say a socket can have changed
   * (sources/state-walk.ts), and at least every WITNESSED_MAX_AGE_MS: an idle host's table, 1,000
   * connections with their tcp_info, was most of the idle agent's cost (bench/README.md).
   */
  private readonly tableWitness = new TableWitness(WITNESSED_MAX_AGE_MS);
  /** Socket-table reads left out because nothing had moved (/api/health). */
  tablesReused = 0;
  private lastSample: WatchSample | null = null;
  private diagnosedFrom: WatchSample | null = null;
  private readonly noted = new Set<string>();
  private diagnosing = false;
  private readonly ownerSockets = socketSource({ offThread: true });
  readonly eventStore: EventStore;
  private events: EventCollector | null = null;
  private eventsStatus: Pick<EventCollectorStatus, 'reason' | 'hint'> = { reason: 'not started yet', hint: null };
  private listenerOf: ListenerOf = () => null;
  private readonly rtt = new RttHistogram();
  /** Of the last socket table read (reused or not): what the table holds now. */
  private rttNow: RttPercentiles | null = null;
  private eventTotals: Readonly<Record<EventCounter, number>> | null = null;
  private eventTotalsAtMs = 0;
  /** Established children per listener, from the last socket sample (null before the first). */
  private establishedByListener: Map<string, number> | null = null;

  constructor(private readonly options: AgentOptions) {
    this.eventStore = new EventStore(options.store.connection);
    this.bus = new AgentBus((error) => options.note(`stream subscriber: ${error instanceof Error ? error.message : String(error)}`));
    this.collectors = Object.fromEntries(COLLECTORS.map((c) => [c, { ticks: 0, late: 0, failed: 0, lastAtMs: null, lastLagMs: 0, lastTookMs: 0, lastIssue: null }])) as unknown as Record<CollectorName, CollectorState>;
    this.alerts = new AlertLoop({
      ...options.alerts,
      thresholds: options.thresholds,
      onTransition: (t) => {
        options.store.writeAlert(t.atMs, t.rule, t.status, t.severity, t.scope, t);
        options.onTransition?.(t);
        this.bus.publish({ kind: 'alert', atMs: t.atMs, transition: t });
      },
      note: options.note,
    }, options.evidenceSources);
  }

  /** Run every collector until the signal aborts; resolves when none runs any more. */
  async run(): Promise<Partial<Record<CollectorName, CollectorSummary>>> {
    const { signal } = this.options;
    const counters = counterSource({}, { reuseWalk: true });
    const listeners = listenerSource();
    const sockets = socketSource({ offThread: true });
    const loop = (name: CollectorName, intervalMs: number, tick: (s: AbortSignal) => Promise<TickResult>): Promise<CollectorSummary> =>
      runCollector({ intervalMs, signal, immediate: true, onIssue: (i) => this.issue(name, i) }, async (context) => {
        const state = this.collectors[name];
        state.lastLagMs = context.startedMs - context.dueMs;
        const rest = await tick(context.signal);
        state.ticks = context.n;
        state.lastAtMs = Date.now();
        state.lastTookMs = performance.now() - context.startedMs;
        return rest;
      });
    let maintainedAtMs = performance.now();
    const events = await this.openEvents();
    let flushedAtMs = performance.now();
    // An idle host's rings are drained less and less often, down to one read every
    // EVENTS_IDLE_POLL_MS, and at the configured interval again from the first event on: a
    // wake-up with its two reads is most of the idle collector's cost, and the default 16 MiB per
    // CPU holds far more than half a second of a 150k events/s burst (architecture.md).
    let emptyPolls = 0;
    const idleRestSlots = this.options.events === null ? 0 : Math.max(0, Math.floor(EVENTS_IDLE_POLL_MS / this.options.events.pollIntervalMs) - 1);
    try {
      const [c, l, s, e] = await Promise.all([
        loop('counters', this.options.countersIntervalMs, async (sig) => {
          const snap = await counters.collect(sig, undefined);
          for (const i of snap.issues) this.issue('counters', i);
          this.previousCounters = this.counters;
          this.counters = snap.data;
          this.countersAtMs = snap.takenAtMs;
          const values = this.seriesValues();
          this.options.store.writeSample(snap.takenAtMs, values);
          this.publishSample(snap.takenAtMs, values);
          if (performance.now() - maintainedAtMs >= MAINTAIN_EVERY_MS) {
            maintainedAtMs = performance.now();
            this.maintain();
          }
        }),
        loop('listeners', this.options.countersIntervalMs, async (sig) => {
          // Accept queues, backlogs and half-open children every second; the established
          // children from the socket sample once there is one (counting them here would dump
          // every established socket every second), the half-open ones from the state counts'
          // walk (a LISTEN dump alone does not walk the established hash).
          const established = this.establishedByListener;
          const children = established === null ? 'all' : this.counters?.halfOpen ?? 'half-open';
          const snap = await listeners.collect(sig, { withOwners: false, children });
          for (const i of snap.issues) this.issue('listeners', i);
          this.listeners = established === null ? snap.data : snap.data.map((l) => ({ ...l, established: established.get(listenerKey(l)) ?? 0 }));
          this.listenerOf = listenerIndex(snap.data);
          this.bus.publish({ kind: 'listeners', atMs: snap.takenAtMs, listeners: this.listeners });
        }),
        loop('sockets', this.options.socketsIntervalMs, async (sig) => {
          // Counters read at most a second before the dump: a change after them shows at a later tick.
          const witnessed = this.counters?.counters ?? null;
          if (witnessed !== null && this.sockets !== null && this.tableWitness.stillHolds(witnessed, performance.now())) {
            // Not a segment in or out, no socket made or gone: the last table is still the
            // kernel's (timers aside), and the rules are judged on it on time. The RTT
            // histogram counts it again (its observations weigh connections by how long they
            // live); the per-minute rollups average the same RTTs whether counted once or twice.
            this.tablesReused++;
            this.rtt.observeSockets(this.sockets.data);
            this.rttNow = rttPercentiles(this.sockets.data);
            this.judge();
            return;
          }
          const snap = await sockets.collect(sig, { withInfo: true, withOwners: false });
          if (witnessed !== null) this.tableWitness.remember(witnessed, performance.now());
          for (const i of snap.issues) this.issue('sockets', i);
          this.sockets = { data: snap.data, takenAtMs: snap.takenAtMs, tcpInfo: sockets.backend === 'sockdiag' };
          this.rtt.observeSockets(snap.data);
          this.rttNow = rttPercentiles(snap.data);
          events?.observeSockets(snap.takenAtMs, snap.data);
          this.establishedByListener = new Map(summarizeListeners(snap.data, true).map((l) => [listenerKey(l), l.established]));
          this.judge();
        }),
        events === null || this.options.events === null
          ? Promise.resolve(null)
          : loop('events', this.options.events.pollIntervalMs, () => {
            const read = events.poll();
            if (performance.now() - flushedAtMs >= EVENT_FLUSH_EVERY_MS) {
              flushedAtMs = performance.now();
              events.flush(Date.now());
            }
            emptyPolls = read === 0 ? emptyPolls + 1 : 0;
            return Promise.resolve(Math.min(emptyPolls, idleRestSlots));
          }),
      ]);
      return { counters: c, listeners: l, sockets: s, ...(e === null ? {} : { events: e }) };
    } finally {
      try {
        await events?.close();
      } finally {
        await this.alerts.close();
      }
    }
  }

  /** Start the event collector, or note once why it cannot run (no root, no tracefs, a namespace). */
  private async openEvents(): Promise<EventCollector | null> {
    const o = this.options.events;
    if (o === null) {
      this.eventsStatus = { reason: 'off in the configuration (events.enabled = false)', hint: null };
      return null;
    }
    try {
      this.events = await EventCollector.open({
        bufferKb: o.bufferKb,
        slowStateMs: o.slowStateMs,
        maxRecordsPerSecond: o.maxRecordsPerSecond,
        topPeers: o.topPeers,
        inNamespace: o.inNamespace,
        listenerOf: (family, local) => this.listenerOf(family, local),
        store: this.eventStore,
        scope: o.scope,
        onEvent: (event) => this.bus.publish({ kind: 'event', atMs: event.ts, event: event.kind, data: { ...event } }),
        onCounts: (atMs, counts) => this.bus.publish({ kind: 'event', atMs, event: 'counts', data: counts }),
        onRollups: (rows) => this.bus.publish({ kind: 'rollup', atMs: Date.now(), rows }),
      });
      this.eventsStatus = { reason: null, hint: null };
      return this.events;
    } catch (error: unknown) {
      if (!(error instanceof TcpdiagError)) throw error;
      this.eventsStatus = { reason: error.message, hint: error.hint ?? null };
      // One line in the log (the hint's first, the command); /api/health has all of it.
      const hint = error.hint?.split('\n')[0];
      this.options.note(`events: not collected: ${error.message}; counters, sockets and listeners still are${hint === undefined ? '' : ` (${hint})`}`);
      return null;
    }
  }

  /** The rollups of the minutes still filling, which the store does not hold yet. */
  openRollups(): RollupRow[] {
    return this.events?.openRollups() ?? [];
  }

  /** One connection's state history from the event collector; null when it was not seen or events are off. */
  connectionHistory(local: EndpointForms, remote: EndpointForms): ConnectionHistory | null {
    return this.events?.connectionHistory(local, remote) ?? null;
  }

  /** What /api/health says of the event collector. */
  eventStatus(): EventCollectorStatus {
    const e = this.events;
    return {
      running: e !== null && this.eventsStatus.reason === null,
      reason: this.eventsStatus.reason,
      hint: this.eventsStatus.hint,
      backend: e?.backend ?? null,
      lost: e?.lost ?? 0,
      rawEvents: e?.rawEvents ?? 0,
    };
  }

  /** One socket sample: the alerts, and the diagnosis when its interval has passed. */
  private judge(): void {
    const now = performance.now();
    if (now - this.sysctlAtMs >= SYSCTL_EVERY_MS) {
      this.sysctlAtMs = now;
      this.sysctl = this.options.evidenceSources.sysctls().data;
    }
    const current: WatchSample = {
      atMs: Date.now(),
      monotonicMs: now,
      counters: this.counters === null ? null : { ...this.counters.counters },
      sockets: this.sockets?.data ?? null,
      portRange: parsePortRange(this.sysctl['net.ipv4.ip_local_port_range']),
    };
    this.alerts.step(current);
    this.lastSample = current;
    if (this.diagnosedFrom === null) this.diagnosedFrom = current;
    else if (this.options.diagnoseIntervalMs > 0 && current.monotonicMs - this.diagnosedFrom.monotonicMs >= this.options.diagnoseIntervalMs) {
      this.diagnoseNow().catch((error: unknown) => {
        if (!this.options.signal.aborted) this.options.note(`diagnosis: ${error instanceof Error ? error.message : String(error)}`);
      });
    }
  }

  /**
   * The diagnosis rules over the window from the last judgement to now: the window's end is the
   * socket table read again with owners (the rules name the process behind a CLOSE_WAIT leak
   * or a full accept queue), in the collection worker. Null when there is no window yet (no
   * socket sample) or a diagnosis is already running.
   */
  async diagnoseNow(): Promise<{ readonly findings: readonly Finding[]; readonly fromMs: number; readonly toMs: number } | null> {
    const from = this.diagnosedFrom;
    if (from === null || this.diagnosing) return null;
    this.diagnosing = true;
    try {
      const snap = await this.ownerSockets.collect(this.options.signal, { withInfo: true, withOwners: true });
      const to: WatchSample = { ...(this.lastSample ?? from), atMs: snap.takenAtMs, monotonicMs: performance.now(), sockets: snap.data, counters: this.counters === null ? null : { ...this.counters.counters } };
      const findings = diagnoseSamples(from, to, this.sysctl, this.ownerSockets.backend === 'sockdiag', this.options.thresholds, 'the agent');
      this.findings = findings;
      this.findingsAtMs = to.atMs;
      this.diagnosedFrom = to;
      if (findings.length > 0) this.options.store.writeFindings(to.atMs, findings);
      this.bus.publish({ kind: 'findings', atMs: to.atMs, fromMs: from.atMs, findings });
      return { findings, fromMs: from.atMs, toMs: to.atMs };
    } finally {
      this.diagnosing = false;
    }
  }

  firing(): ReturnType<AlertLoop['firing']> {
    return this.alerts.firing();
  }

  /** What /metrics reads. */
  snapshot(): AgentSnapshot {
    const cpu = process.cpuUsage();
    const lag: Record<string, number> = {};
    const ticks: Record<string, number> = {};
    for (const name of COLLECTORS) {
      lag[name] = this.collectors[name].lastLagMs / 1000;
      ticks[name] = this.collectors[name].ticks;
    }
    return {
      counters: this.counters,
      listeners: this.listeners,
      firing: this.alerts.firing(),
      eventsLost: this.events?.lost ?? 0,
      events: this.events === null ? null : this.events.totals,
      rtt: this.rtt.value,
      // Per-peer series (agent.metrics_peer_labels): read as they stand, ranked by the sink.
      peers: { sockets: this.sockets?.data ?? null, events: this.events?.peerTotals.entries ?? null },
      agent: { cpuSeconds: (cpu.user + cpu.system) / 1e6, rssBytes: process.memoryUsage.rss(), storeBytes: this.options.store.sizeBytes(), tickLagSeconds: lag, ticks },
    };
  }

  /** The 1 s series: connections by state (gauges) and the counters' rates since the previous sample. */
  private seriesValues(): Map<string, number> {
    const values = new Map<string, number>();
    const cur = this.counters;
    if (cur === null) return values;
    for (const state of TCP_STATES) values.set(`connections.${state}`, cur.states[state] ?? 0);
    const prev = this.previousCounters;
    if (prev !== null) {
      const seconds = (cur.monotonicMs - prev.monotonicMs) / 1000;
      for (const [series, counter] of Object.entries(RATE_SERIES)) {
        const a = prev.counters[counter];
        const b = cur.counters[counter];
        // A counter that went backwards was reset: no rate for that second.
        if (typeof a === 'number' && typeof b === 'number' && b >= a && seconds > 0) values.set(series, (b - a) / seconds);
      }
    }
    const totals = this.events?.totals;
    if (totals !== undefined && this.eventsStatus.reason === null) {
      const prevTotals = this.eventTotals;
      const seconds = (cur.monotonicMs - this.eventTotalsAtMs) / 1000;
      if (prevTotals !== null && seconds > 0) {
        for (const [series, counter] of Object.entries(EVENT_RATE_SERIES)) values.set(series, (totals[counter] - prevTotals[counter]) / seconds);
      }
      this.eventTotals = { ...totals };
      this.eventTotalsAtMs = cur.monotonicMs;
    }
    const rtt = this.rttNow;
    if (rtt !== null) for (const [series, field] of Object.entries(RTT_SERIES)) values.set(series, rtt[field]);
    if (this.listeners !== null) {
      values.set('listeners.accept_queue_max', this.listeners.reduce((m, l) => Math.max(m, l.acceptQueue), 0));
      values.set('listeners.syn_recv', this.listeners.reduce((m, l) => m + l.synRecv, 0));
    }
    return values;
  }

  private publishSample(atMs: number, values: ReadonlyMap<string, number>): void {
    if (this.bus.size === 0) return;
    const states: Record<string, number> = {};
    const series: Record<string, number> = {};
    for (const [name, value] of values) {
      if (name.startsWith('connections.')) states[name.slice('connections.'.length)] = value;
      else series[name] = value;
    }
    this.bus.publish({ kind: 'sample', atMs, states, series });
  }

  private maintain(): void {
    const now = Date.now();
    this.options.store.rollup(now);
    this.options.store.enforceRetention(now, this.options.retention);
    const e = this.options.events;
    if (e !== null) {
      this.eventStore.enforceRetention(now, { keepMs: e.keepMs, maxEvents: e.maxEvents, maxBytes: this.options.retention.maxBytes, sizeBytes: () => this.options.store.sizeBytes() });
    }
  }

  private issue(collector: CollectorName, i: Issue): void {
    const state = this.collectors[collector];
    state.lastIssue = i;
    if (i.code === 'TCPDIAG_TICK_LATE') state.late += 1;
    const key = `${collector}:${i.code}`;
    if (this.noted.has(key)) return;
    this.noted.add(key);
    this.options.note(`${collector}: ${i.message}${i.hint === undefined ? '' : ` (${i.hint})`}`);
  }
}
