/**
 * One finding: what is wrong, why, the evidence and what to change. The same shape comes out of
 * `analyze`, `diagnose`, alerts, the agent's API and the dashboard.
 */

export type FindingSeverity = 'critical' | 'warning' | 'info';

export interface Advice {
  /** What to do, in a sentence; says when not to do it where that matters. */
  readonly text: string;
  /** The exact command, when one exists (`sysctl -w net.core.somaxconn=4096`). */
  readonly command?: string;
  /** The value in force now, and the one suggested, for settings. */
  readonly current?: string;
  readonly suggested?: string;
}

export interface Finding {
  /** Stable rule id (`syn-flood`, `close-wait-leak`): scripts and alerts match on it. */
  readonly id: string;
  readonly severity: FindingSeverity;
  readonly title: string;
  /** What the finding is about: a listener (`127.0.0.1:8080`), a peer, a process, the host. */
  readonly subject: string;
  /** The mechanism, in a paragraph. */
  readonly explanation: string;
  /** The numbers behind the claim: counts, rates, sockets, peers, processes. */
  readonly evidence: Readonly<Record<string, unknown>>;
  readonly advice: readonly Advice[];
  /** What produced it: `analyze`, `diagnose`, `alerts`. */
  readonly source: string;
  /** When it was established (ms since the epoch; for a capture, the capture's own time). */
  readonly atMs: number;
}

const SEVERITY_RANK: Readonly<Record<FindingSeverity, number>> = { critical: 0, warning: 1, info: 2 };

/** Most severe first; the order is stable otherwise. */
export function bySeverity(a: Finding, b: Finding): number {
  return SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity];
}
