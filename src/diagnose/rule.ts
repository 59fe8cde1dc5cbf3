/**
 * What a diagnosis rule is: a stable id, the facts it needs, and a pure function from facts and
 * thresholds to findings plus the value it measured (so a report can show why a rule did not
 * fire). Rules never read files, clocks or the network: the same facts give the same answer,
 * live, from a capture, or in the alerts engine.
 */
import type { Advice, FindingSeverity } from '../model/finding.js';
import type { FactKind, Facts } from '../model/facts.js';
import type { FactsView } from './view.js';

/**
 * The thresholds rules compare with: the keys of tcp_diag.conf's [thresholds] and [diagnose]
 * sections, spelled as there (the config schema holds the defaults and says where each one
 * comes from).
 */
export interface Thresholds {
  readonly syn_per_s: number;
  readonly retrans_ratio_percent: number;
  readonly loss_percent: number;
  readonly rtt_ms: number;
  readonly connect_timeout_rate_percent: number;
  readonly capacity_percent: number;
  readonly window_low_bytes: number;
  readonly time_wait_max: number;
  readonly close_wait_max: number;
  readonly close_wait_stuck_min: number;
  readonly fin_wait2_stuck_min: number;
  readonly syn_sent_retransmits_min: number;
  readonly connect_failures_min: number;
  readonly retrans_min_segments: number;
  readonly retrans_min_count: number;
  readonly rtt_jump_percent: number;
  readonly rtt_min_sockets: number;
  readonly nat_idle_timeout_s: number;
  readonly keepalive_min_connections: number;
  readonly reset_min: number;
  readonly reset_percent: number;
  readonly slow_attack_min_connections: number;
  readonly slow_attack_max_bytes: number;
  readonly stall_rto_min: number;
}

/** A finding as a rule states it; the engine adds the rule id, source and time. */
export interface FindingDraft {
  readonly severity: FindingSeverity;
  readonly title: string;
  readonly subject: string;
  readonly explanation: string;
  readonly evidence: Readonly<Record<string, unknown>>;
  readonly advice: readonly Advice[];
}

/** What a rule measured, fired or not. */
export interface RuleOutcome {
  /** The figure compared with the threshold (the worst one when there are several subjects). */
  readonly value: number | string | null;
  readonly threshold: number | string | null;
  /** What `value` is, in a few words ("stuck CLOSE_WAIT sockets of one process"). */
  readonly measure: string;
  readonly findings: readonly FindingDraft[];
}

/** The rule could not judge with these facts (beyond a missing fact kind, which the engine checks). */
export interface RuleSkip {
  readonly skip: string;
  readonly hint?: string;
}

export type RuleResult = RuleOutcome | RuleSkip;

export interface RuleContext {
  readonly facts: Facts;
  readonly view: FactsView;
  readonly thresholds: Thresholds;
}

export interface Rule {
  /** Stable id: scripts, alerts and the dashboard match on it. */
  readonly id: string;
  /** One line on what the rule looks for (for `checked` and help). */
  readonly summary: string;
  /** Facts without which the rule is skipped (the report says which and how to get them). */
  readonly needs: readonly FactKind[];
  /** The service log lines that corroborate this rule's findings (timeouts, refused...). */
  readonly logPatterns?: readonly RegExp[];
  evaluate(context: RuleContext): RuleResult;
  /**
   * The same rule judged from a capture's packets (facts of origin `capture`), when packets can
   * show it; rules without one are reported skipped for captures.
   */
  capture?(context: RuleContext): RuleResult;
}

export function isSkip(result: RuleResult): result is RuleSkip {
  return 'skip' in result;
}
