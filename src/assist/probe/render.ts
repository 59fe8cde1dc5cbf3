/**
 * The text form of a probe report: one line per step, the step's failure named, the kernel's
 * view of the connection, and a summary over attempts. Pure.
 */
import type { ProbeAttempt, ProbeReport, ProbeStep } from './probe.js';

/** A detail value as text; detail values are strings, numbers or null. */
function str(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '?';
}

function stepText(step: ProbeStep): string {
  const d = step.detail;
  switch (step.name) {
    case 'dns':
      return Array.isArray(d.addresses) ? (d.addresses as string[]).join(', ') : '';
    case 'connect':
      return typeof d.local === 'string' ? `${d.local} -> ${str(d.remote)}` : str(d.remote);
    case 'tls': {
      if (d.protocol === undefined) return '';
      const days = typeof d.daysToExpiry === 'number' ? (d.daysToExpiry < 0 ? `expired ${-d.daysToExpiry} days ago` : `expires in ${d.daysToExpiry} days`) : '';
      return `${str(d.protocol)} ${str(d.cipher)}; subject ${str(d.subject)}; issuer ${str(d.issuer)}; ${days}`;
    }
    case 'http':
      return typeof d.status === 'number' ? `${d.status} ${str(d.statusText)}; first byte ${str(d.ttfbMs)} ms, total ${str(d.totalMs)} ms, ${str(d.bodyBytes)} bytes` : '';
  }
}

export function renderAttempt(attempt: ProbeAttempt, index: number, count: number, target: string): string {
  const lines = [`probe ${target}${count > 1 ? ` (attempt ${index + 1}/${count})` : ''}: ${attempt.ok ? 'ok' : 'FAILED'} in ${attempt.ms} ms`];
  for (const step of attempt.steps) {
    lines.push(`  ${step.name.padEnd(8)} ${(step.ok ? 'ok' : 'FAIL').padEnd(5)} ${`${step.ms.toFixed(2)} ms`.padStart(11)}  ${stepText(step)}`);
    if (step.error !== null) lines.push(`${' '.repeat(29)}${step.error.class} (${step.error.code}): ${step.error.message}`);
  }
  const k = attempt.tcpInfo;
  if (k !== null) {
    lines.push(`  kernel   ${k.state}: rtt ${k.rttMs} ms (var ${k.rttvarMs}), retransmits ${k.totalRetrans} (unanswered ${k.retransmits}), lost ${k.lost}, mss ${k.mss}, cwnd ${k.cwnd}`);
  }
  return lines.join('\n');
}

export function renderSummary(report: ProbeReport): string {
  const s = report.summary;
  const errors = Object.entries(s.errors).map(([cls, n]) => `${cls} ${n}`).join(', ');
  const timings = Object.entries(s.steps)
    .map(([name, t]) => `${name} min/avg/p50/max ${t.minMs}/${t.avgMs}/${t.p50Ms}/${t.maxMs} ms`)
    .join('; ');
  const codes = Object.entries(s.statusCodes).map(([code, n]) => `${code} x${n}`).join(', ');
  return [
    `summary: ${s.attempts} attempts, ${s.ok} ok, ${s.failed} failed${errors === '' ? '' : `; errors: ${errors}`}`,
    ...(timings === '' ? [] : [`  ${timings}`]),
    ...(codes === '' ? [] : [`  HTTP status: ${codes}`]),
  ].join('\n');
}

/** One line per attempt for `--count N`: `#3 ok 1.234 ms: dns 0 connect 0.21 http 0.9 (200)`. */
export function renderAttemptLine(attempt: ProbeAttempt, index: number): string {
  const steps = attempt.steps.map((step) => `${step.name} ${step.ms}${step.name === 'http' && typeof step.detail.status === 'number' ? ` (${step.detail.status})` : ''}`).join('  ');
  const failed = attempt.steps.find((step) => step.error !== null);
  const why = failed?.error ? `  ${failed.error.class} (${failed.error.code}): ${failed.error.message}` : '';
  const rtt = attempt.tcpInfo === null ? '' : `  rtt ${attempt.tcpInfo.rttMs} ms, retrans ${attempt.tcpInfo.totalRetrans}`;
  return `#${index + 1} ${attempt.ok ? 'ok  ' : 'FAIL'} ${attempt.ms} ms: ${steps}${rtt}${why}`;
}
