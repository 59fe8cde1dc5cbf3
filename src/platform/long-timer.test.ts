import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_TIMER_MS, setLongTimeout } from './long-timer.js';

test('a delay past 2^31 ms is chained and fires only when all of it has passed', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    let clock = 0;
    const tick = (ms: number): void => {
      clock += ms;
      mock.timers.tick(ms);
    };
    // Node itself turns a delay past MAX_TIMER_MS into 1 ms; the fake timers do not, so check
    // what is asked of setTimeout.
    const delays: number[] = [];
    const fake = globalThis.setTimeout;
    globalThis.setTimeout = ((fn: () => void, delay: number) => {
      delays.push(delay);
      return fake(fn, delay);
    }) as typeof setTimeout;
    let fired = 0;
    const total = 9999 * 3_600_000; // 9999h
    try {
      setLongTimeout(() => fired++, total, () => clock);
    } finally {
      globalThis.setTimeout = fake;
    }
    tick(1);
    assert.equal(fired, 0);
    let left = total - 1;
    while (left > MAX_TIMER_MS) {
      tick(MAX_TIMER_MS);
      left -= MAX_TIMER_MS;
      assert.equal(fired, 0);
    }
    tick(left - 1);
    assert.equal(fired, 0, 'not a millisecond early');
    tick(1);
    assert.equal(fired, 1);
    assert.ok(delays.every((d) => d <= MAX_TIMER_MS), `delays ${delays.join(', ')}`);
  } finally {
    mock.timers.reset();
  }
});

test('a cleared long timer never fires', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    let clock = 0;
    let fired = 0;
    const timer = setLongTimeout(() => fired++, 3 * MAX_TIMER_MS, () => clock);
    clock += MAX_TIMER_MS;
    mock.timers.tick(MAX_TIMER_MS);
    timer.clear();
    clock += 3 * MAX_TIMER_MS;
    mock.timers.tick(3 * MAX_TIMER_MS);
    assert.equal(fired, 0);
  } finally {
    mock.timers.reset();
  }
});

test('a short delay is one plain timer', async () => {
  const started = performance.now();
  await new Promise<void>((resolve) => setLongTimeout(resolve, 30));
  assert.ok(performance.now() - started >= 29);
});
