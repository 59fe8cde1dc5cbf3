/**
 * The refresh loop of `conns --watch` and `stats --interval`: run a tick every intervalMs until
 * Ctrl-C/SIGTERM (a graceful stop: the command returns and exits 0) or `count` ticks.
 */
import { onSignal } from '../platform/shutdown.js';

export interface RepeatOptions {
  readonly intervalMs: number;
  /** Stop after this many ticks (forever when undefined). */
  readonly count?: number | undefined;
  /** Tick at once and then every interval (watch); otherwise wait an interval first (rates). */
  readonly immediate: boolean;
}

export async function repeatUntilStopped(options: RepeatOptions, tick: () => void): Promise<void> {
  let stopped = false;
  let wake: (() => void) | undefined;
  const release = onSignal(() => {
    stopped = true;
    wake?.();
  });
  const sleep = (): Promise<void> =>
    new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, options.intervalMs);
    });
  try {
    for (let n = 0; !stopped && (options.count === undefined || n < options.count); n++) {
      if (!options.immediate) await sleep();
      if (stopped) break;
      tick();
      if (options.immediate) await sleep();
    }
  } finally {
    release();
  }
}

/** Text for a live view: redrawn in place on a terminal, appended (with a blank line) otherwise. */
export function liveFrame(text: string, tty: boolean): string {
  return tty ? `\x1b[H\x1b[2J${text}` : `${text}\n`;
}
