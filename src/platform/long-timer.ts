/**
 * Timers for any duration tcpdiag accepts (up to MAX_DURATION_MS, model/units.ts). Node's
 * setTimeout holds a 32-bit signed delay: anything of 2^31 ms (about 24.8 days) or more is
 * replaced by 1 ms with a TimeoutOverflowWarning, so `--duration 9999h` would end at once.
 * These chain timers of at most 2^31-1 ms and fire when the whole delay has passed.
 */

/** The largest delay setTimeout honours (lib/internal/timers.js, TIMEOUT_MAX). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface LongTimer {
  /** Stop it; calling again, or after it fired, does nothing. */
  clear(): void;
  /** Do not keep the process alive for this timer alone (as Timeout.unref). */
  unref(): LongTimer;
}

/**
 * Call `fn` once `ms` have passed on the monotonic clock (performance.now), however long that
 * is. Like setTimeout, it keeps the process alive unless unref()'d.
 */
export function setLongTimeout(fn: () => void, ms: number, now: () => number = () => performance.now()): LongTimer {
  const due = now() + Math.max(0, ms);
  let timer: NodeJS.Timeout | null = null;
  let referenced = true;
  const arm = (): void => {
    const left = due - now();
    timer = setTimeout(left > MAX_TIMER_MS ? arm : fire, Math.min(Math.max(0, left), MAX_TIMER_MS));
    if (!referenced) timer.unref();
  };
  const fire = (): void => {
    timer = null;
    fn();
  };
  arm();
  const handle: LongTimer = {
    clear() {
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
    unref() {
      referenced = false;
      timer?.unref();
      return handle;
    },
  };
  return handle;
}
