/**
 * A diagnosis as every consumer sees it: what `tcpdiag diagnose --json` prints (a contract), what
 * the text renderer shows and what the agent's API and dashboard will serve. Platform-neutral:
 * rules and the engine (src/diagnose/) produce it, sinks render it.
 */
import type { Finding, FindingSeverity } from './finding.js';
import type { HostFact, ProcessFact } from './facts.js';
import type { Issue } from './issue.js';

export interface LogLine {
  /** The file or `journal:UNIT` it came from. */
  readonly origin: string;
  readonly text: string;
  /** When it was written, when the source says so (the journal does; a file tail does not). */
  readonly atMs: number | null;
}

/** A diagnosis finding: the shared Finding plus the service's log lines of the window that match it. */
export interface DiagnosisFinding extends Finding {
  readonly logLines?: readonly LogLine[];
}

export interface CheckedRule {
  readonly id: string;
  readonly status: 'passed' | 'fired' | 'skipped';
  /** The figure compared with the threshold (the worst one when there are several subjects). */
  readonly value?: number | string | null;
  readonly threshold?: number | string | null;
  /** What `value` is, in a few words. */
  readonly measure?: string;
  /** Skipped: why, and what grants the missing capability. */
  readonly reason?: string;
  readonly hint?: string;
}

export interface ScoreDeduction {
  readonly id: string;
  readonly subject: string;
  readonly severity: FindingSeverity;
  readonly points: number;
}

export interface DiagnosisResult {
  /** 100 is healthy; each finding takes points off by severity. */
  readonly score: number;
  readonly scoreLoweredBy: readonly ScoreDeduction[];
  /** Most severe first. */
  readonly findings: readonly DiagnosisFinding[];
  readonly checked: readonly CheckedRule[];
}

export interface LogSourceStatus {
  /** The file path, or `journal:UNIT`. */
  readonly origin: string;
  readonly status: 'read' | 'skipped';
  readonly lines?: number;
  /** Bytes of the window left unread because the source was larger than the cap. */
  readonly truncatedBytes?: number;
  readonly reason?: string;
  readonly hint?: string;
}

/** The filter a diagnosis was narrowed to, as text (null expression: every connection). */
export interface ScopeSummary {
  /** ss's syntax (`sport = :8080 or dport = :8080`). */
  readonly expression: string | null;
  readonly families: readonly (4 | 6)[];
  readonly pids: readonly number[];
  readonly process: string | null;
}

export interface DiagnosisReport extends DiagnosisResult {
  readonly window: { readonly start: string; readonly end: string; readonly durationMs: number };
  readonly scope: ScopeSummary;
  readonly system: {
    readonly host: HostFact | null;
    readonly processes: readonly ProcessFact[];
  };
  readonly logs: readonly LogSourceStatus[];
  /** What was degraded while collecting, with the command that gets it back. */
  readonly issues: readonly Issue[];
}
