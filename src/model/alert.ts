/**
 * Alerts as every consumer sees them: the rules the engine holds (what tcp_diag.conf's [alerts]
 * section configures), the transitions it emits, and the line `tcpdiag watch --json` prints for
 * each (a contract: scripts and the agent read it). Platform-neutral: the engine (src/alerts/)
 * produces transitions, sinks (src/sinks/alerts/) render and deliver them.
 */

/** P1: the service is down; P2: degraded; P3: minor, worth a look. */
export type AlertSeverity = 'P1' | 'P2' | 'P3';
export const ALERT_SEVERITIES: readonly AlertSeverity[] = ['P1', 'P2', 'P3'];

/** What an alert instance is about: the whole host, one listener (`127.0.0.1:8080`), or one peer address. */
export type AlertScopeKind = 'host' | 'listener' | 'peer';
export const ALERT_SCOPES: readonly AlertScopeKind[] = ['host', 'listener', 'peer'];

/**
 * The figures the watch loop measures on every sample, by name. Rates are per second over the
 * sample interval, ratios in percent, RTT in milliseconds, counts at the sample's end.
 */
export const ALERT_METRICS = [
  'syn_per_s',
  'new_connections_per_s',
  'retrans_ratio_percent',
  'loss_percent',
  'rtt_ms',
  'connect_failure_percent',
  'port_use_percent',
  'listen_overflows_per_s',
  'syn_recv_backlog_percent',
  'close_wait',
] as const;
export type AlertMetric = (typeof ALERT_METRICS)[number];

/** Which scopes each metric is measured in (a rule's scope must be one of them). */
export const METRIC_SCOPES: Readonly<Record<AlertMetric, readonly AlertScopeKind[]>> = {
  syn_per_s: ['host', 'listener'],
  new_connections_per_s: ['host', 'listener'],
  retrans_ratio_percent: ['host', 'peer'],
  loss_percent: ['host', 'peer'],
  rtt_ms: ['host', 'peer'],
  connect_failure_percent: ['host'],
  port_use_percent: ['host', 'peer'],
  listen_overflows_per_s: ['host', 'listener'],
  syn_recv_backlog_percent: ['host', 'listener'],
  close_wait: ['host', 'listener'],
};

export type AlertComparison = 'above' | 'below';

/** A learned threshold: "N times the usual", from robust statistics of the metric's own history. */
export interface BaselineSpec {
  /** Fire when the value exceeds the usual (the median) by this much: 300 is the brief's +300%. */
  readonly surgePercent: number;
  /** ...and exceeds the median by this many robust deviations (1.4826 x MAD estimates sigma). */
  readonly deviations: number;
  /** ...and is at least this: a flat metric (MAD 0) must not make every wiggle an anomaly. */
  readonly floor: number;
}

export interface AlertRuleSpec {
  /** Stable name scripts and receivers match on (`syn-rate`). */
  readonly name: string;
  readonly metric: AlertMetric;
  readonly comparison: AlertComparison;
  /** The fixed threshold; null for a baseline-only rule. With a baseline, the higher of both applies. */
  readonly threshold: number | null;
  readonly baseline: BaselineSpec | null;
  /** The condition must hold this long, sample after sample, before the alert fires (Prometheus `for`). */
  readonly forMs: number;
  /** A firing alert resolves only after the condition has been clear this long (Prometheus `keep_firing_for`). */
  readonly keepFiringForMs: number;
  /** Clear means below this (above it, for `below` rules): a lower bar than the threshold avoids flapping. Null: the threshold. */
  readonly resolveThreshold: number | null;
  readonly severity: AlertSeverity;
  readonly scope: AlertScopeKind;
  /** Per listener or per peer: how many instances are tracked at most (the worst first). */
  readonly maxInstances: number;
  /** A firing alert is re-sent to the sinks this often (0: never); stdout prints transitions only. */
  readonly repeatIntervalMs: number;
  /** One line for receivers' `summary` annotation. */
  readonly summary: string;
}

export type AlertStatus = 'firing' | 'resolved';

/** What the engine emits: an instance started firing, was re-sent while firing, or resolved. */
export interface AlertTransition {
  readonly status: AlertStatus;
  /** A reminder of an alert already firing (the rule's repeat interval), not a transition. */
  readonly repeat: boolean;
  readonly rule: string;
  readonly metric: AlertMetric;
  readonly severity: AlertSeverity;
  readonly scopeKind: AlertScopeKind;
  /** The listener or peer; null for host scope. */
  readonly scope: string | null;
  /** The value at this sample; null when the scope is gone (a listener that closed). */
  readonly value: number | null;
  /** The threshold in force (for baselines, the learned one at fire time). */
  readonly threshold: number;
  readonly atMs: number;
  /** When it started firing. */
  readonly startsAtMs: number;
  /** When the condition first held (the start of the `for` hold). */
  readonly activeSinceMs: number;
  readonly summary: string;
  /** The snapshot taken when it fired (firing transitions only; filled by the watch session). */
  readonly evidence?: AlertEvidence;
}

/** What the operator needs at the moment an alert fires, frozen then. */
export interface AlertEvidence {
  /** The counter deltas of the sample, per second where a rate is meant. */
  readonly counters: Readonly<Record<string, number>>;
  readonly topListeners: ReadonlyArray<Readonly<Record<string, unknown>>>;
  readonly topSources: ReadonlyArray<Readonly<Record<string, unknown>>>;
  /** Some of the sockets behind the number (capped). */
  readonly sockets: ReadonlyArray<Readonly<Record<string, unknown>>>;
  /** The learned baseline behind a baseline threshold. */
  readonly baseline?: { readonly median: number; readonly mad: number; readonly samples: number };
  /** The diagnosis finding that explains it, with its advice, when one fired on the same facts. */
  readonly finding?: Readonly<Record<string, unknown>>;
  /** More scopes over the threshold than the rule tracks. */
  readonly untrackedScopes?: number;
}

/** The line `tcpdiag watch --json` prints per transition. */
export interface AlertLine {
  readonly type: 'alert';
  readonly status: AlertStatus;
  readonly rule: string;
  readonly severity: AlertSeverity;
  readonly scope?: string;
  readonly value: number | null;
  readonly threshold: number;
  /** ISO 8601. */
  readonly ts: string;
  readonly startsAt: string;
  readonly evidence?: AlertEvidence;
}

export function alertLine(t: AlertTransition): AlertLine {
  return {
    type: 'alert',
    status: t.status,
    rule: t.rule,
    severity: t.severity,
    ...(t.scope === null ? {} : { scope: t.scope }),
    value: t.value,
    threshold: t.threshold,
    ts: new Date(t.atMs).toISOString(),
    startsAt: new Date(t.startsAtMs).toISOString(),
    ...(t.evidence === undefined ? {} : { evidence: t.evidence }),
  };
}
