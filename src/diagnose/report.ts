/**
 * The diagnosis report: what `tcpdiag diagnose --json` prints and the text renderer shows. Built
 * purely from the facts, the engine's result and the service's log lines of the window: each
 * finding gets the lines that match its rule, and `system` shows the resources of the processes
 * the findings name (plus those asked for with --pid), so logs and resources cross-check the TCP
 * view.
 */
import type { Issue } from '../model/issue.js';
import type { DiagnosisReport, DiagnosisResult, LogLine, LogSourceStatus } from '../model/diagnosis.js';
import type { Facts } from '../model/facts.js';
import { formatExpr } from '../model/conn-filter.js';
import type { Rule } from './rule.js';

/** Lines attached to one finding at most (the rest are counted). */
export const MAX_LOG_LINES_PER_FINDING = 20;

export interface ReportInput {
  readonly facts: Facts;
  readonly result: DiagnosisResult;
  readonly rules: readonly Rule[];
  readonly logLines: readonly LogLine[];
  readonly logs: readonly LogSourceStatus[];
  readonly issues: readonly Issue[];
}

export function buildReport(input: ReportInput): DiagnosisReport {
  const { facts, result } = input;
  const patterns = new Map(input.rules.map((r) => [r.id, r.logPatterns ?? []]));
  const findings = result.findings.map((f) => {
    const matched = matchLogLines(input.logLines, patterns.get(f.id) ?? []);
    return matched.length === 0 ? f : { ...f, logLines: matched };
  });
  const pids = new Set<number>(facts.scope.pids ?? []);
  for (const f of findings) collectPids(f.evidence, pids);
  return {
    score: result.score,
    scoreLoweredBy: result.scoreLoweredBy,
    window: { start: new Date(facts.window.startMs).toISOString(), end: new Date(facts.window.endMs).toISOString(), durationMs: facts.window.endMs - facts.window.startMs },
    scope: {
      expression: facts.scope.expr === undefined || (facts.scope.expr.kind === 'and' && facts.scope.expr.items.length === 0) ? null : formatExpr(facts.scope.expr),
      families: facts.scope.families ?? [],
      pids: facts.scope.pids ?? [],
      process: facts.scope.process ?? null,
    },
    findings,
    checked: result.checked,
    system: {
      host: facts.host,
      processes: (facts.processes ?? []).filter((p) => pids.has(p.pid)).sort((a, b) => a.pid - b.pid),
    },
    logs: input.logs,
    issues: input.issues,
  };
}

/** The lines that match any pattern, the newest MAX_LOG_LINES_PER_FINDING of them. */
export function matchLogLines(lines: readonly LogLine[], patterns: readonly RegExp[]): LogLine[] {
  if (patterns.length === 0) return [];
  const matched = lines.filter((l) => patterns.some((p) => p.test(l.text)));
  return matched.slice(-MAX_LOG_LINES_PER_FINDING);
}

/** Every `{pid, process}` object in the evidence, however deep. */
function collectPids(value: unknown, into: Set<number>, depth = 0): void {
  if (depth > 4 || value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const item of value) collectPids(item, into, depth + 1);
    return;
  }
  const record = value as Record<string, unknown>;
  if (typeof record.pid === 'number' && typeof record.process === 'string') into.add(record.pid);
  for (const item of Object.values(record)) collectPids(item, into, depth + 1);
}
