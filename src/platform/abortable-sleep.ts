/**
 * Wait `ms`, or less if `signal` aborts: resolves either way (never rejects), so a loop can
 * sleep between ticks and then check `signal.aborted` itself. Unlike timers/promises'
 * setTimeout, an abort is a normal way to stop, not an error. Any duration works, past Node's
 * 2^31 ms timer limit too (long-timer.ts).
 */
import { setLongTimeout } from './long-timer.js';

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      timer.clear();
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setLongTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Why `signal` aborted, as an Error (an AbortError DOMException unless the aborter gave one). */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new DOMException(typeof reason === 'string' ? reason : 'This operation was aborted', 'AbortError');
}
