/**
 * The refresh loop of `conns --watch` and `stats --interval`: the periodic collector
 * (sessions/collector.ts) until Ctrl-C/SIGTERM (a graceful stop: the command returns and exits
 * 0) or `count` ticks. Late ticks are warned about on stderr.
 */
import { stopOnSignal } from './lifetime.js';
import type { CollectorSummary } from '../sessions/collector.js';
import { runCollector } from '../sessions/collector.js';
import { warnIssues } from './run.js';

export interface RepeatOptions {
  readonly intervalMs: number;
  /** Stop after this many ticks (forever when undefined). */
  readonly count?: number | undefined;
  /** Tick at once and then every interval (watch); otherwise wait an interval first (rates). */
  readonly immediate: boolean;
}

export async function repeatUntilStopped(options: RepeatOptions, tick: (signal: AbortSignal) => void | Promise<void>): Promise<CollectorSummary> {
  const stop = stopOnSignal();
  try {
    return await runCollector(
      { ...options, signal: stop.signal, keepAlive: true, onIssue: (issue) => warnIssues([issue]) },
      (context) => tick(context.signal),
    );
  } finally {
    stop.release();
  }
}

/** Text for a live view: redrawn in place on a terminal, appended (with a blank line) otherwise. */
export function liveFrame(text: string, tty: boolean): string {
  return tty ? `\x1b[H\x1b[2J${text}` : `${text}\n`;
}
