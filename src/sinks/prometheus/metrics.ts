/**
 * The agent's /metrics: Prometheus text exposition (format 0.0.4) through prom-client, read
 * from the agent's last snapshot. Every metric's collect() only copies numbers out of memory, so
 * a scrape never waits on a collection however many sockets the host has.
 *
 * Cardinality is bounded by construction: states (11 kernel names), severities (3), collectors
 * (3), and listeners capped to the `topListeners` with the fullest accept queues. No per-peer or
 * per-IP label unless agent.metrics_peer_labels asks for them, and then capped (peer-metrics.ts). Names follow Prometheus's conventions (`_total` for counters, `_seconds`,
 * `_bytes`); kernel counters are exported as counters with the kernel's value, so a reset of
 * the kernel's counter (a reboot) reads as a counter reset, which rate() handles.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { CounterSample } from '../../model/counters.js';
import type { ListenerSummary } from '../../model/listener.js';
import { TCP_STATES } from '../../model/tcp-state.js';
import { formatEndpoint } from '../../model/socket.js';
import { registerEventMetrics } from './event-metrics.js';
import type { EventSnapshot } from './event-metrics.js';
import { registerPeerMetrics } from './peer-metrics.js';
import type { PeerMetricsOptions, PeerSnapshot } from './peer-metrics.js';

export interface AgentSnapshot extends EventSnapshot {
  readonly counters: CounterSample | null;
  readonly listeners: readonly ListenerSummary[] | null;
  /** Alerts firing now (one entry each). */
  readonly firing: readonly { readonly severity: string }[];
  readonly eventsLost: number;
  /** What the per-peer series read (only with agent.metrics_peer_labels). */
  readonly peers?: PeerSnapshot;
  readonly agent: {
    readonly cpuSeconds: number;
    readonly rssBytes: number;
    readonly storeBytes: number;
    /** How late each collector's last tick started, in seconds. */
    readonly tickLagSeconds: Readonly<Record<string, number>>;
    readonly ticks: Readonly<Record<string, number>>;
  };
}

const SEVERITIES = ['P1', 'P2', 'P3'] as const;

/** A registry whose metrics read `snapshot()` on every scrape; per-peer series only with `peers`. */
export function agentRegistry(snapshot: () => AgentSnapshot, topListeners: number, peers: PeerMetricsOptions | null = null): Registry {
  const registry = new Registry();
  const counterValue = (name: string): number | null => {
    const v = snapshot().counters?.counters[name];
    return typeof v === 'number' ? v : null;
  };
  const kernelCounter = (name: string, help: string, counter: string): void => {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        const v = counterValue(counter);
        if (v !== null) this.inc(v);
      },
    });
  };
  new Gauge({
    name: 'tcpdiag_connections',
    help: 'TCP sockets by kernel state (request socks counted in SYN_RECV, TIME_WAIT included)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.reset();
      const states = snapshot().counters?.states;
      if (states === undefined) return;
      for (const state of TCP_STATES) this.set({ state }, states[state] ?? 0);
    },
  });
  kernelCounter('tcpdiag_retransmits_total', 'TCP segments retransmitted (Tcp: RetransSegs)', 'RetransSegs');
  kernelCounter('tcpdiag_syn_retransmits_total', 'SYN retransmissions (TcpExt: TCPSynRetrans)', 'TCPSynRetrans');
  kernelCounter('tcpdiag_timeouts_total', 'retransmission timeouts (TcpExt: TCPTimeouts)', 'TCPTimeouts');
  kernelCounter('tcpdiag_segments_sent_total', 'TCP segments sent (Tcp: OutSegs)', 'OutSegs');
  kernelCounter('tcpdiag_resets_sent_total', 'TCP resets sent (Tcp: OutRsts)', 'OutRsts');
  kernelCounter('tcpdiag_listen_overflows_total', 'SYNs or ACKs dropped because an accept queue was full (TcpExt: ListenOverflows)', 'ListenOverflows');
  kernelCounter('tcpdiag_listen_drops_total', 'connection requests dropped at a listener for any reason (TcpExt: ListenDrops)', 'ListenDrops');
  kernelCounter('tcpdiag_attempt_fails_total', 'connection attempts that failed (Tcp: AttemptFails)', 'AttemptFails');
  new Counter({
    name: 'tcpdiag_opens_total',
    help: 'TCP connections opened, by direction (Tcp: ActiveOpens, PassiveOpens)',
    labelNames: ['direction'],
    registers: [registry],
    collect() {
      this.reset();
      const active = counterValue('ActiveOpens');
      const passive = counterValue('PassiveOpens');
      if (active !== null) this.inc({ direction: 'active' }, active);
      if (passive !== null) this.inc({ direction: 'passive' }, passive);
    },
  });
  new Gauge({
    name: 'tcpdiag_syn_recv',
    help: 'half-open connections (SYN_RECV request socks) on this host',
    registers: [registry],
    collect() {
      const states = snapshot().counters?.states;
      this.set(states?.SYN_RECV ?? 0);
    },
  });
  const listenerGauge = (name: string, help: string, value: (l: ListenerSummary) => number | null): void => {
    new Gauge({
      name,
      help,
      labelNames: ['listener'],
      registers: [registry],
      collect() {
        this.reset();
        for (const l of topByAcceptQueue(snapshot().listeners ?? [], topListeners)) {
          const v = value(l);
          if (v !== null) this.set({ listener: formatEndpoint(l.local, l.family) }, v);
        }
      },
    });
  };
  listenerGauge('tcpdiag_listener_accept_queue', `connections waiting for accept() on the ${topListeners} listeners with the fullest queues`, (l) => l.acceptQueue);
  listenerGauge('tcpdiag_listener_backlog', 'listen() backlog of the same listeners', (l) => l.backlog);
  listenerGauge('tcpdiag_listener_syn_recv', 'half-open connections of the same listeners', (l) => l.synRecv);
  new Gauge({
    name: 'tcpdiag_listeners',
    help: 'listening TCP sockets',
    registers: [registry],
    collect() {
      this.set(snapshot().listeners?.length ?? 0);
    },
  });
  new Gauge({
    name: 'tcpdiag_alerts_firing',
    help: 'alerts firing now, by severity',
    labelNames: ['severity'],
    registers: [registry],
    collect() {
      this.reset();
      const firing = snapshot().firing;
      for (const severity of SEVERITIES) this.set({ severity }, firing.filter((f) => f.severity === severity).length);
    },
  });
  new Counter({
    name: 'tcpdiag_events_lost_total',
    help: 'kernel events dropped before the agent read them',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(snapshot().eventsLost);
    },
  });
  new Counter({
    name: 'tcpdiag_agent_cpu_seconds_total',
    help: 'CPU time (user + system) the agent used',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(snapshot().agent.cpuSeconds);
    },
  });
  new Gauge({
    name: 'tcpdiag_agent_resident_memory_bytes',
    help: 'resident set size of the agent',
    registers: [registry],
    collect() {
      this.set(snapshot().agent.rssBytes);
    },
  });
  new Gauge({
    name: 'tcpdiag_agent_store_bytes',
    help: 'size of the history file and its write-ahead log',
    registers: [registry],
    collect() {
      this.set(snapshot().agent.storeBytes);
    },
  });
  new Gauge({
    name: 'tcpdiag_agent_tick_lag_seconds',
    help: 'how late the last tick of each collector started',
    labelNames: ['collector'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [collector, lag] of Object.entries(snapshot().agent.tickLagSeconds)) this.set({ collector }, lag);
    },
  });
  new Counter({
    name: 'tcpdiag_agent_ticks_total',
    help: 'ticks each collector ran',
    labelNames: ['collector'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [collector, n] of Object.entries(snapshot().agent.ticks)) this.inc({ collector }, n);
    },
  });
  registerEventMetrics(registry, snapshot);
  if (peers !== null) registerPeerMetrics(registry, () => snapshot().peers ?? { sockets: null, events: null }, peers);
  return registry;
}

/** The listeners with the fullest accept queues (then the most half-open), at most `k`. */
export function topByAcceptQueue(listeners: readonly ListenerSummary[], k: number): ListenerSummary[] {
  return [...listeners].sort((a, b) => b.acceptQueue - a.acceptQueue || b.synRecv - a.synRecv || a.local.port - b.local.port).slice(0, k);
}
