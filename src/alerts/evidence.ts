/**
 * Evidence frozen at the moment an alert fires: the counter deltas of that sample, the listeners
 * and sources involved, some of the sockets behind the number, and the diagnosis finding that
 * explains it (the same rules as `tcpdiag diagnose`, judged on the same two samples) with its
 * advice. Pure: the watch session reads the sockets (with owners) once per firing sample.
 */
import type { AlertEvidence, AlertMetric, AlertTransition } from '../model/alert.js';
import type { Counters } from '../model/counters.js';
import type { Finding } from '../model/finding.js';
import type { TcpSocket } from '../model/socket.js';
import { formatEndpoint } from '../model/socket.js';
import type { BaselineStats } from './baseline.js';
import { ListenerIndex, listenerKey } from './metrics.js';
import { roundValue } from './engine.js';

/** The diagnosis rule that explains each metric, when one does. */
export const FINDING_FOR_METRIC: Readonly<Partial<Record<AlertMetric, readonly string[]>>> = {
  syn_per_s: ['syn-flood'],
  syn_recv_backlog_percent: ['syn-flood'],
  listen_overflows_per_s: ['listen-overflow'],
  retrans_ratio_percent: ['retransmission-high', 'mtu-blackhole'],
  loss_percent: ['retransmission-high', 'mtu-blackhole'],
  rtt_ms: ['rtt-high'],
  connect_failure_percent: ['syn-sent-unanswered', 'conn-refused'],
  port_use_percent: ['port-exhaustion'],
  close_wait: ['close-wait-leak'],
  new_connections_per_s: ['syn-flood', 'time-wait-backlog', 'port-exhaustion'],
};

/** Counters whose growth each metric is about (all shown per second). */
const COUNTERS_FOR_METRIC: Readonly<Record<AlertMetric, readonly string[]>> = {
  syn_per_s: ['PassiveOpens', 'SyncookiesSent', 'SyncookiesRecv', 'SyncookiesFailed', 'TCPReqQFullDrop', 'TCPReqQFullDoCookies', 'ListenDrops', 'TCPSynRetrans'],
  new_connections_per_s: ['ActiveOpens', 'PassiveOpens', 'AttemptFails', 'EstabResets'],
  retrans_ratio_percent: ['OutSegs', 'RetransSegs', 'TCPTimeouts', 'TCPLossProbes', 'TCPFastRetrans', 'TCPSlowStartRetrans'],
  loss_percent: ['OutSegs', 'RetransSegs', 'TCPTimeouts', 'TCPLostRetransmit', 'TCPFastRetrans'],
  rtt_ms: ['OutSegs', 'RetransSegs', 'TCPTimeouts'],
  connect_failure_percent: ['ActiveOpens', 'AttemptFails', 'TCPSynRetrans', 'OutRsts'],
  port_use_percent: ['ActiveOpens', 'AttemptFails'],
  listen_overflows_per_s: ['ListenOverflows', 'ListenDrops', 'PassiveOpens'],
  syn_recv_backlog_percent: ['PassiveOpens', 'SyncookiesSent', 'TCPReqQFullDrop', 'TCPSynRetrans'],
  close_wait: ['PassiveOpens', 'EstabResets'],
};

const MAX_SOCKETS = 10;
const MAX_TOP = 5;

export interface EvidenceInput {
  readonly transition: AlertTransition;
  readonly previousCounters: Counters | null;
  readonly counters: Counters | null;
  readonly intervalMs: number;
  /** The socket table at fire time, with owners where they could be read. */
  readonly sockets: readonly TcpSocket[] | null;
  readonly findings: readonly Finding[];
  readonly baseline: BaselineStats | null;
  readonly untrackedScopes: number;
}

/** The sockets a metric is about, for one scope. */
function socketsBehind(metric: AlertMetric, scope: string | null, scopeKind: AlertTransition['scopeKind'], sockets: readonly TcpSocket[], index: ListenerIndex): TcpSocket[] {
  const inScope = (s: TcpSocket): boolean => {
    if (scope === null) return true;
    if (scopeKind === 'listener') {
      const l = s.state === 'LISTEN' ? s : index.of(s);
      return l !== null && listenerKey(l) === scope;
    }
    return s.remote.address === scope || formatEndpoint(s.remote, s.family) === scope;
  };
  const states: Readonly<Partial<Record<AlertMetric, readonly string[]>>> = {
    syn_per_s: ['SYN_RECV'],
    syn_recv_backlog_percent: ['SYN_RECV'],
    listen_overflows_per_s: ['LISTEN'],
    close_wait: ['CLOSE_WAIT'],
    connect_failure_percent: ['SYN_SENT'],
    new_connections_per_s: ['ESTABLISHED', 'SYN_RECV', 'TIME_WAIT'],
    rtt_ms: ['ESTABLISHED'],
    retrans_ratio_percent: ['ESTABLISHED'],
    loss_percent: ['ESTABLISHED'],
  };
  const wanted = states[metric];
  const picked = sockets.filter((s) => (wanted === undefined ? s.state !== 'LISTEN' : wanted.includes(s.state)) && inScope(s));
  if (metric === 'rtt_ms' || metric === 'retrans_ratio_percent' || metric === 'loss_percent') {
    const key = (s: TcpSocket): number => (metric === 'rtt_ms' ? (s.tcpInfo?.rttMs ?? 0) : (s.tcpInfo?.totalRetrans ?? 0));
    picked.sort((a, b) => key(b) - key(a));
  }
  return picked;
}

function socketEvidence(s: TcpSocket): Record<string, unknown> {
  const owner = s.owners[0];
  return {
    state: s.state,
    local: formatEndpoint(s.local, s.family),
    remote: formatEndpoint(s.remote, s.family),
    ...(owner === undefined ? {} : { process: { pid: owner.pid, process: owner.process } }),
    ...(s.tcpInfo === null ? {} : { rttMs: s.tcpInfo.rttMs, totalRetrans: s.tcpInfo.totalRetrans }),
    ...(s.timer.retransmits > 0 ? { timerRetransmits: s.timer.retransmits } : {}),
  };
}

function topOf(counts: Map<string, number>, name: string): Array<Record<string, unknown>> {
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, MAX_TOP).map(([k, n]) => ({ [name]: k, sockets: n }));
}

export function buildEvidence(input: EvidenceInput): AlertEvidence {
  const { transition: t } = input;
  const counters: Record<string, number> = {};
  if (input.previousCounters !== null && input.counters !== null && input.intervalMs > 0) {
    for (const name of COUNTERS_FOR_METRIC[t.metric]) {
      const before = input.previousCounters[name];
      const after = input.counters[name];
      if (before === undefined || after === undefined) continue;
      counters[`${name}PerS`] = roundValue(Math.max(0, after - before) / (input.intervalMs / 1000));
    }
  }
  const sockets = input.sockets ?? [];
  const index = new ListenerIndex(sockets);
  const behind = socketsBehind(t.metric, t.scope, t.scopeKind, sockets, index);
  const listeners = new Map<string, number>();
  const sources = new Map<string, number>();
  for (const s of behind) {
    const l = s.state === 'LISTEN' ? s : index.of(s);
    if (l !== null) listeners.set(listenerKey(l), (listeners.get(listenerKey(l)) ?? 0) + 1);
    if (s.state !== 'LISTEN') sources.set(s.remote.address, (sources.get(s.remote.address) ?? 0) + 1);
  }
  const topListeners = [...listeners].sort((a, b) => b[1] - a[1]).slice(0, MAX_TOP).map(([key, n]) => {
    const l = index.listeners.find((x) => listenerKey(x) === key);
    const owner = l?.owners[0];
    return {
      listener: key,
      sockets: n,
      ...(l === undefined ? {} : { backlog: l.sendQ, acceptQueue: l.recvQ }),
      ...(owner === undefined ? {} : { process: { pid: owner.pid, process: owner.process } }),
    };
  });
  const wanted = FINDING_FOR_METRIC[t.metric] ?? [];
  const finding = input.findings.find((f) => wanted.includes(f.id) && (t.scope === null || f.subject.includes(t.scope))) ?? input.findings.find((f) => wanted.includes(f.id));
  return {
    counters,
    topListeners,
    topSources: topOf(sources, 'source'),
    sockets: behind.slice(0, MAX_SOCKETS).map(socketEvidence),
    ...(input.baseline === null ? {} : { baseline: { median: roundValue(input.baseline.median), mad: roundValue(input.baseline.mad), samples: input.baseline.samples } }),
    ...(finding === undefined ? {} : { finding: { id: finding.id, severity: finding.severity, title: finding.title, subject: finding.subject, explanation: finding.explanation, evidence: finding.evidence, advice: finding.advice } }),
    ...(input.untrackedScopes > 0 ? { untrackedScopes: input.untrackedScopes } : {}),
  };
}
