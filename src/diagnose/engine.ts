/**
 * The rule engine: every rule over one Facts value, each either skipped (a fact it needs is
 * missing, with the reason and what grants it), passed or fired (with its findings), plus the
 * health score those findings leave. Pure; `diagnose`, `analyze` and the alerts engine call it.
 */
import { HEALTH_PENALTY } from '../model/health.js';
import type { CheckedRule, DiagnosisFinding, DiagnosisResult } from '../model/diagnosis.js';
import { bySeverity } from '../model/finding.js';
import type { Facts } from '../model/facts.js';
import type { Rule, Thresholds } from './rule.js';
import { isSkip } from './rule.js';
import { FactsView } from './view.js';

export interface EngineOptions {
  /** What the findings say produced them (`diagnose`, `analyze`, `alerts`). */
  readonly source: string;
}

export const CAPTURE_CANNOT_TELL = 'a capture shows packets, not the host\'s sockets, counters, sysctls or processes this rule reads';

export function runRules(facts: Facts, thresholds: Thresholds, rules: readonly Rule[], options: EngineOptions): DiagnosisResult {
  const view = new FactsView(facts);
  const findings: DiagnosisFinding[] = [];
  const checked: CheckedRule[] = [];
  for (const rule of rules) {
    if (facts.origin === 'capture' && rule.capture === undefined) {
      checked.push({ id: rule.id, status: 'skipped', reason: CAPTURE_CANNOT_TELL, hint: 'run tcpdiag diagnose on the host itself' });
      continue;
    }
    const missing = facts.origin === 'live' ? facts.missing.find((m) => rule.needs.includes(m.kind)) : undefined;
    if (missing !== undefined) {
      checked.push({ id: rule.id, status: 'skipped', reason: missing.reason, ...(missing.hint === undefined ? {} : { hint: missing.hint }) });
      continue;
    }
    let result;
    try {
      const context = { facts, view, thresholds };
      result = facts.origin === 'capture' ? rule.capture!(context) : rule.evaluate(context);
    } catch (error: unknown) {
      // A rule's bug must not hide every other rule's answer; it shows as skipped, with the error.
      checked.push({ id: rule.id, status: 'skipped', reason: `the rule failed: ${error instanceof Error ? error.message : String(error)}`, hint: 'this is a bug in tcpdiag; rerun with TCPDIAG_DEBUG=1 and report the output' });
      continue;
    }
    if (isSkip(result)) {
      checked.push({ id: rule.id, status: 'skipped', reason: result.skip, ...(result.hint === undefined ? {} : { hint: result.hint }) });
      continue;
    }
    for (const draft of result.findings) findings.push({ id: rule.id, ...draft, source: options.source, atMs: facts.window.endMs });
    checked.push({
      id: rule.id,
      status: result.findings.length > 0 ? 'fired' : 'passed',
      value: result.value,
      threshold: result.threshold,
      measure: result.measure,
    });
  }
  findings.sort(bySeverity);
  // The points each finding takes off are the page's and the agent's too (model/health.ts).
  const scoreLoweredBy = findings.map((f) => ({ id: f.id, subject: f.subject, severity: f.severity, points: HEALTH_PENALTY[f.severity] }));
  const score = Math.max(0, 100 - scoreLoweredBy.reduce((sum, d) => sum + d.points, 0));
  return { score, scoreLoweredBy, findings, checked };
}
