/**
 * One diagnosis window as the commands run it (`tcpdiag diagnose`, `tcpdiag tune plan`): the
 * rules' thresholds, the log cap and the trace settings from the configuration, the sources
 * for this host or the namespace asked for, and the CLI's note on stderr.
 */
import type { TcpdiagConfig } from '../config/schema.js';
import type { DiagnosisReport } from '../model/diagnosis.js';
import type { DiagnoseScope } from '../model/facts.js';
import type { NetnsRef } from '../platform/netns.js';
import { commandScope } from './lifetime.js';

export interface DiagnosisRequest {
  readonly durationMs: number | undefined;
  readonly scope: DiagnoseScope;
  readonly logFiles: readonly string[];
  readonly journalUnits: readonly string[];
  readonly events: boolean;
  readonly netns: NetnsRef | undefined;
  readonly signal: AbortSignal;
}

export async function runConfiguredDiagnosis(config: Pick<TcpdiagConfig, 'trace' | 'thresholds' | 'diagnose'>, request: DiagnosisRequest): Promise<DiagnosisReport> {
  const { createDiagnoseSources } = await import('../sources/diagnose.js');
  const { runDiagnosis } = await import('../sessions/diagnose-session.js');
  const { netns } = request;
  return runDiagnosis(
    {
      durationMs: request.durationMs ?? config.diagnose.duration_s * 1000,
      scope: request.scope,
      logFiles: request.logFiles,
      journalUnits: request.journalUnits,
      thresholds: { ...config.thresholds, ...config.diagnose },
      logCapBytes: Math.round(config.diagnose.log_max_mb * 1024 * 1024),
      pollIntervalMs: config.trace.poll_interval_ms,
      events: request.events,
      signal: request.signal,
      note: (text) => process.stderr.write(`tcpdiag: ${text}\n`),
    },
    createDiagnoseSources({ traceBufferKb: config.trace.buffer_kb, scope: commandScope(), ...(netns ? { netns } : {}) }),
  );
}
