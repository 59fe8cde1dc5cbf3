/**
 * The shipped alert rules and their overrides from tcp_diag.conf ([alerts.rules.NAME]).
 * Thresholds come from [thresholds], whose defaults are the figures the field guides for TCP
 * operations quote (SYN > 10000/s, new connections > 5000/s, a +300% surge, retransmissions
 * > 1%, loss > 5% held 60 s on 5 s samples, RTT > 100 ms, connect timeouts > 0.5%, > 80% of
 * capacity). Holds lean long: "better to miss than to false-alarm" (catpaw), and Netdata's stock
 * TCP alerts, held briefly, flooded inboxes until their thresholds were raised.
 */
import { ConfigError } from '../errors.js';
import { METRIC_SCOPES } from '../model/alert.js';
import type { AlertComparison, AlertMetric, AlertRuleSpec, AlertScopeKind, AlertSeverity } from '../model/alert.js';

/** The [thresholds] figures the shipped rules use. */
export interface AlertThresholds {
  readonly syn_per_s: number;
  readonly new_connections_critical_per_s: number;
  readonly new_connections_per_s: number;
  readonly new_connections_surge_percent: number;
  readonly retrans_ratio_percent: number;
  readonly loss_percent: number;
  readonly loss_hold_s: number;
  readonly rtt_ms: number;
  readonly connect_timeout_rate_percent: number;
  readonly capacity_percent: number;
  readonly close_wait_max: number;
}

/** One [alerts.rules.NAME] table, keys as in the file. */
export interface AlertRuleOverride {
  readonly enabled?: boolean | undefined;
  readonly metric?: AlertMetric | undefined;
  readonly comparison?: AlertComparison | undefined;
  readonly threshold?: number | undefined;
  readonly for_s?: number | undefined;
  readonly keep_firing_for_s?: number | undefined;
  readonly resolve_threshold?: number | undefined;
  readonly severity?: AlertSeverity | undefined;
  readonly scope?: AlertScopeKind | undefined;
  readonly max_instances?: number | undefined;
  readonly repeat_interval_s?: number | undefined;
  readonly surge_percent?: number | undefined;
  readonly deviations?: number | undefined;
  readonly floor?: number | undefined;
  readonly summary?: string | undefined;
}

const S = 1000;
/** Receivers that dedupe (Alertmanager) still want a reminder now and then; four hours is Alertmanager's own repeat_interval. */
const REPEAT_MS = 4 * 3600 * S;

type Base = Omit<AlertRuleSpec, 'repeatIntervalMs' | 'maxInstances' | 'resolveThreshold' | 'baseline' | 'comparison'> & Partial<AlertRuleSpec>;

function spec(base: Base): AlertRuleSpec {
  return { comparison: 'above', resolveThreshold: null, baseline: null, maxInstances: 20, repeatIntervalMs: REPEAT_MS, ...base };
}

export function defaultAlertRules(t: AlertThresholds): AlertRuleSpec[] {
  return [
    spec({ name: 'syn-rate', metric: 'syn_per_s', threshold: t.syn_per_s, forMs: 10 * S, keepFiringForMs: 30 * S, severity: 'P2', scope: 'host', summary: 'SYNs received per second: a SYN flood or a stampede of clients' }),
    spec({ name: 'new-connection-rate', metric: 'new_connections_per_s', threshold: t.new_connections_critical_per_s, forMs: 30 * S, keepFiringForMs: 60 * S, severity: 'P2', scope: 'host', summary: 'new TCP connections per second (opened and accepted)' }),
    spec({
      name: 'new-connection-surge',
      metric: 'new_connections_per_s',
      threshold: null,
      // +300% of the usual, well outside its spread, and above the brief's normal ceiling of new connections: below it no surge matters.
      baseline: { surgePercent: t.new_connections_surge_percent, deviations: 6, floor: t.new_connections_per_s },
      forMs: 10 * S,
      keepFiringForMs: 60 * S,
      severity: 'P3',
      scope: 'host',
      summary: 'new connections far above the learned usual for this host',
    }),
    spec({ name: 'retransmission-ratio', metric: 'retrans_ratio_percent', threshold: t.retrans_ratio_percent, resolveThreshold: t.retrans_ratio_percent / 2, forMs: 30 * S, keepFiringForMs: 60 * S, severity: 'P3', scope: 'host', summary: 'share of sent segments that were retransmissions' }),
    spec({ name: 'packet-loss', metric: 'loss_percent', threshold: t.loss_percent, resolveThreshold: t.loss_percent / 2, forMs: t.loss_hold_s * S, keepFiringForMs: 60 * S, severity: 'P2', scope: 'peer', summary: 'share of bytes sent to one peer that had to be resent: loss on its path' }),
    spec({ name: 'rtt', metric: 'rtt_ms', threshold: t.rtt_ms, forMs: 60 * S, keepFiringForMs: 60 * S, severity: 'P3', scope: 'peer', summary: 'median smoothed RTT of the connections to one peer' }),
    spec({ name: 'connect-failure-rate', metric: 'connect_failure_percent', threshold: t.connect_timeout_rate_percent, forMs: 30 * S, keepFiringForMs: 60 * S, severity: 'P2', scope: 'host', summary: 'share of outgoing connection attempts that failed (timed out or refused; AttemptFails / ActiveOpens)' }),
    spec({ name: 'port-capacity', metric: 'port_use_percent', threshold: t.capacity_percent, forMs: 30 * S, keepFiringForMs: 60 * S, severity: 'P2', scope: 'peer', summary: 'ephemeral ports in use toward one destination, of net.ipv4.ip_local_port_range' }),
    spec({ name: 'listen-overflows', metric: 'listen_overflows_per_s', threshold: 0, forMs: 10 * S, keepFiringForMs: 30 * S, severity: 'P2', scope: 'host', summary: 'connections dropped because an accept queue was full (ListenOverflows)' }),
    spec({ name: 'syn-recv-backlog', metric: 'syn_recv_backlog_percent', threshold: t.capacity_percent, forMs: 10 * S, keepFiringForMs: 30 * S, severity: 'P2', scope: 'listener', summary: 'half-open connections (SYN_RECV) as a share of the listener\'s backlog' }),
    spec({ name: 'close-wait-growth', metric: 'close_wait', threshold: t.close_wait_max, forMs: 120 * S, keepFiringForMs: 60 * S, severity: 'P3', scope: 'listener', summary: 'CLOSE_WAIT sockets piling up on a listener: the application does not close what its peers closed' }),
  ];
}

/** The shipped rules with the file's overrides applied, new rules added and disabled ones left out. */
export function buildAlertRules(t: AlertThresholds, overrides: Readonly<Record<string, AlertRuleOverride>>): AlertRuleSpec[] {
  const defaults = new Map(defaultAlertRules(t).map((r) => [r.name, r]));
  const out: AlertRuleSpec[] = [];
  for (const [name, rule] of defaults) {
    const o = overrides[name];
    if (o?.enabled === false) continue;
    out.push(o === undefined ? rule : apply(rule, o, name));
  }
  for (const [name, o] of Object.entries(overrides)) {
    if (defaults.has(name) || o.enabled === false) continue;
    if (o.metric === undefined) {
      throw new ConfigError(`alerts.rules.${name}: a new rule needs a metric (shipped rules: ${[...defaults.keys()].join(', ')})`, { hint: `add metric = "syn_per_s" (or another metric) under [alerts.rules.${name}]` });
    }
    const base = spec({ name, metric: o.metric, threshold: null, forMs: 30 * S, keepFiringForMs: 60 * S, severity: 'P3', scope: 'host', summary: `${o.metric} (rule ${name})` });
    out.push(apply(base, o, name));
  }
  return out;
}

function apply(rule: AlertRuleSpec, o: AlertRuleOverride, name: string): AlertRuleSpec {
  const baseline = o.surge_percent !== undefined || o.floor !== undefined || o.deviations !== undefined || rule.baseline !== null
    ? { surgePercent: o.surge_percent ?? rule.baseline?.surgePercent ?? 300, deviations: o.deviations ?? rule.baseline?.deviations ?? 6, floor: o.floor ?? rule.baseline?.floor ?? 0 }
    : null;
  const next: AlertRuleSpec = {
    ...rule,
    metric: o.metric ?? rule.metric,
    comparison: o.comparison ?? rule.comparison,
    threshold: o.threshold ?? rule.threshold,
    baseline,
    forMs: o.for_s === undefined ? rule.forMs : Math.round(o.for_s * S),
    keepFiringForMs: o.keep_firing_for_s === undefined ? rule.keepFiringForMs : Math.round(o.keep_firing_for_s * S),
    resolveThreshold: o.resolve_threshold ?? rule.resolveThreshold,
    severity: o.severity ?? rule.severity,
    scope: o.scope ?? rule.scope,
    maxInstances: o.max_instances ?? rule.maxInstances,
    repeatIntervalMs: o.repeat_interval_s === undefined ? rule.repeatIntervalMs : Math.round(o.repeat_interval_s * S),
    summary: o.summary ?? rule.summary,
  };
  const where = `alerts.rules.${name}`;
  if (!METRIC_SCOPES[next.metric].includes(next.scope)) {
    throw new ConfigError(`${where}: ${next.metric} is not measured per ${next.scope} (it is: ${METRIC_SCOPES[next.metric].join(', ')})`, { hint: `set scope = "${METRIC_SCOPES[next.metric][0]!}"` });
  }
  if (next.threshold === null && next.baseline === null) {
    throw new ConfigError(`${where}: the rule has neither a threshold nor a baseline`, { hint: 'set threshold = N, or surge_percent = 300 for a learned baseline' });
  }
  return next;
}
