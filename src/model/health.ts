/**
 * The 0-100 health score of a set of findings and what lowers it: one critical finding leaves 60
 * ("something is broken"), a warning 85, an info note 98 (the points diagnose's engine takes
 * off), so the page, the CLI and the agent order hosts the same way.
 */
import type { Finding, FindingSeverity } from './finding.js';

export const HEALTH_PENALTY: Readonly<Record<FindingSeverity, number>> = { critical: 40, warning: 15, info: 2 };

export interface HealthScore {
  readonly score: number;
  readonly loweredBy: readonly { readonly id: string; readonly title: string; readonly subject: string; readonly severity: FindingSeverity; readonly points: number }[];
}

export function healthScore(findings: readonly Finding[]): HealthScore {
  const loweredBy = findings.map((f) => ({ id: f.id, title: f.title, subject: f.subject, severity: f.severity, points: HEALTH_PENALTY[f.severity] })).sort((a, b) => b.points - a.points);
  return { score: Math.max(0, 100 - loweredBy.reduce((s, d) => s + d.points, 0)), loweredBy };
}
