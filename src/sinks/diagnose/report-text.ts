/**
 * The diagnosis report as text for a terminal: the score and what lowered it, the findings by
 * severity (mechanism, evidence, advice with commands, log lines), every rule checked with its
 * value and threshold or why it was skipped, the resources of the involved processes, and what
 * was degraded. Pure and tested against exact text.
 */
import type { CheckedRule, DiagnosisFinding, DiagnosisReport } from '../../model/diagnosis.js';
import type { HostFact, ProcessFact } from '../../model/facts.js';

const WIDTH = 100;
const MAX_EVIDENCE_CHARS = 200;

export function formatDiagnosis(report: DiagnosisReport): string {
  const lines: string[] = [];
  const seconds = Math.round(report.window.durationMs / 100) / 10;
  lines.push(`health ${report.score}/100  (window ${report.window.start}, ${seconds} s${scopeText(report)})`);
  if (report.scoreLoweredBy.length > 0) {
    lines.push(`  lowered by: ${report.scoreLoweredBy.map((d) => `${d.id} -${d.points} (${d.subject})`).join(', ')}`);
  }
  lines.push('');
  if (report.findings.length === 0) lines.push('no findings', '');
  for (const f of report.findings) lines.push(...formatFinding(f), '');
  lines.push('checked:');
  const idWidth = Math.max(...report.checked.map((c) => c.id.length), 2);
  for (const c of report.checked) lines.push(formatChecked(c, idWidth));
  // A capture's diagnosis has no host to show.
  if (report.system.host !== null || report.system.processes.length > 0) {
    lines.push('', 'system:');
    lines.push(`  host: ${formatHost(report.system.host)}`);
    for (const p of report.system.processes) lines.push(`  ${formatProcess(p)}`);
  }
  if (report.logs.length > 0) {
    lines.push('', 'logs:');
    for (const l of report.logs) {
      lines.push(l.status === 'read'
        ? `  ${l.origin}: ${l.lines ?? 0} lines from the window${l.truncatedBytes ? ` (${l.truncatedBytes} bytes over the cap not read)` : ''}`
        : `  ${l.origin}: skipped: ${l.reason ?? ''}${l.hint ? ` (${l.hint})` : ''}`);
    }
  }
  if (report.issues.length > 0) {
    lines.push('', 'degraded:');
    for (const i of report.issues) lines.push(`  - ${i.message}${i.hint ? ` (${i.hint})` : ''}`);
  }
  return lines.join('\n') + '\n';
}

function scopeText(report: DiagnosisReport): string {
  const f = report.scope;
  const parts = [
    ...(f.expression !== null ? [f.expression] : []),
    ...(f.families.length > 0 ? [f.families.map((x) => `IPv${x}`).join(',')] : []),
    ...(f.pids.length > 0 ? [`pids ${f.pids.join(',')}`] : []),
    ...(f.process !== null ? [`process ~ ${f.process}`] : []),
  ];
  return parts.length === 0 ? '' : `; ${parts.join('; ')}`;
}

function formatFinding(f: DiagnosisFinding): string[] {
  const lines = [`${f.severity.toUpperCase()}  ${f.id}  ${f.title}`];
  lines.push(...wrap(f.explanation, '  '));
  const evidence = Object.entries(f.evidence).filter(([, v]) => v !== null && v !== undefined && !(Array.isArray(v) && v.length === 0));
  if (evidence.length > 0) {
    lines.push('  evidence:');
    for (const [key, value] of evidence) lines.push(`    ${key}: ${evidenceText(value)}`);
  }
  if (f.advice.length > 0) {
    lines.push('  advice:');
    for (const a of f.advice) {
      lines.push(...wrap(a.text, '    - ', '      '));
      if (a.command !== undefined) {
        const values = a.current !== undefined || a.suggested !== undefined ? `   (now ${a.current ?? '?'}, suggested ${a.suggested ?? '?'})` : '';
        lines.push(`      $ ${a.command}${values}`);
      }
    }
  }
  if (f.logLines !== undefined && f.logLines.length > 0) {
    lines.push(`  log lines (${f.logLines.length}):`);
    for (const l of f.logLines) lines.push(`    ${l.origin}: ${l.text.length > WIDTH ? `${l.text.slice(0, WIDTH - 3)}...` : l.text}`);
  }
  return lines;
}

function evidenceText(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > MAX_EVIDENCE_CHARS ? `${text.slice(0, MAX_EVIDENCE_CHARS - 3)}...` : text;
}

function formatChecked(c: CheckedRule, idWidth: number): string {
  const head = `  ${c.status.padEnd(7)}  ${c.id.padEnd(idWidth)}`;
  if (c.status === 'skipped') return `${head}  ${c.reason ?? ''}${c.hint ? ` (${c.hint})` : ''}`;
  return `${head}  ${String(c.value ?? '-')} vs ${String(c.threshold ?? '-')}: ${c.measure ?? ''}`;
}

function bytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${Math.round(n / 1024)} KiB`;
}

function formatHost(h: HostFact | null): string {
  if (h === null) return 'not read';
  const parts = [`${h.cpus} CPUs`];
  if (h.cpuPercent !== null) parts.push(`${h.cpuPercent}% busy`);
  if (h.loadAverage1m !== null) parts.push(`load ${h.loadAverage1m}`);
  if (h.memAvailableBytes !== null && h.memTotalBytes !== null) parts.push(`memory ${bytes(h.memAvailableBytes)} available of ${bytes(h.memTotalBytes)}`);
  if (h.fileHandlesAllocated !== null && h.fileHandlesMax !== null) parts.push(`file handles ${h.fileHandlesAllocated} of ${h.fileHandlesMax}`);
  return parts.join(', ');
}

function formatProcess(p: ProcessFact): string {
  const parts = [
    `cpu ${p.cpuPercent === null ? '?' : `${p.cpuPercent}%`}`,
    `rss ${p.rssBytes === null ? '?' : bytes(p.rssBytes)}`,
    `threads ${p.threads ?? '?'}`,
    `fds ${p.openFds ?? '?'} of ${p.fdLimitSoft ?? 'unlimited'}`,
  ];
  return `pid ${p.pid} ${p.process}: ${parts.join(', ')}`;
}

/** Words wrapped to WIDTH; the first line starts with `first`, the others with `rest`. */
export function wrap(text: string, first: string, rest = first): string[] {
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (!empty && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = rest + word;
    } else {
      line += (empty ? '' : ' ') + word;
    }
    empty = false;
  }
  if (!empty) lines.push(line);
  return lines;
}
