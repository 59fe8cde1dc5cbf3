/**
 * The refresh loop of `conns --watch` and `stats --interval`: run a tick every intervalMs until
 * Ctrl-C/SIGTERM (a graceful stop: the command returns and exits 0) or `count` ticks.
 */
import { stopOnSignal } from './lifetime.js';
import { abortableSleep } from '../platform/abortable-sleep.js';

export interface RepeatOptions {
  readonly intervalMs: number;
  /** Stop after this many ticks (forever when undefined). */
  readonly count?: number | undefined;
  /** Tick at once and then every interval (watch); otherwise wait an interval first (rates). */
  readonly immediate: boolean;
}

export async function repeatUntilStopped(options: RepeatOptions, tick: () => void): Promise<void> {
  const stop = stopOnSignal();
  const sleep = (): Promise<void> => abortableSleep(options.intervalMs, stop.signal);
  try {
    for (let n = 0; !stop.signal.aborted && (options.count === undefined || n < options.count); n++) {
      if (!options.immediate) await sleep();
      if (stop.signal.aborted) break;
      tick();
      if (options.immediate) await sleep();
    }
  } finally {
    stop.release();
  }
}

/** Text for a live view: redrawn in place on a terminal, appended (with a blank line) otherwise. */
export function liveFrame(text: string, tty: boolean): string {
  return tty ? `\x1b[H\x1b[2J${text}` : `${text}\n`;
}
