import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Issue } from '../model/issue.js';
import { SourceError } from '../errors.js';
import { runCollector } from './collector.js';

// These tests hold nothing else open, so their collectors keep the process alive (keepAlive);
// the last test checks the unref'd default in a process of its own.
import type { TickContext } from './collector.js';

function blockEventLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy on purpose: this is what a synchronous 60k-socket dump does to the loop
  }
}

test('ticks never overlap: a tick slower than the interval delays the next one, which is reported late, and the slots it overran are skipped', async () => {
  const issues: Issue[] = [];
  let running = 0;
  let maxRunning = 0;
  // Slots at 0, 200, 400, 600 ms; tick 1 runs until ~550 ms, past the slots at 200 and 400.
  const options = { intervalMs: 200, count: 3, immediate: true, lateAfterMs: 100, keepAlive: true, signal: new AbortController().signal };
  const summary = await runCollector({ ...options, onIssue: (i) => issues.push(i) }, async ({ n }) => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    await sleep(n === 1 ? 550 : 1);
    running--;
  });
  assert.equal(maxRunning, 1);
  assert.equal(summary.ticks, 3);
  assert.equal(summary.skipped, 1, 'the 200 ms slot is skipped; the 400 ms one runs at once, late');
  const late = issues.filter((i) => i.code === 'TCPDIAG_TICK_LATE');
  assert.equal(late.length, 1, JSON.stringify(issues));
  const m = /^tick 2 started (\d+) ms late: the previous tick took (\d+) ms, longer than the 200 ms interval$/.exec(late[0]!.message);
  assert.ok(m, late[0]!.message);
  assert.ok(Number(m[1]) >= 140 && Number(m[2]) >= 540, late[0]!.message);
  assert.ok(late[0]!.hint !== undefined && late[0]!.hint.length > 0);
});

test('a tick held up by a blocked event loop is reported with how late it started', async () => {
  const issues: Issue[] = [];
  const run = runCollector({ intervalMs: 100, count: 1, signal: new AbortController().signal, keepAlive: true, onIssue: (i) => issues.push(i) }, () => undefined);
  blockEventLoop(300); // the first tick was due 100 ms in
  await run;
  assert.equal(issues.length, 1);
  const m = /^tick 1 started (\d+) ms late: the event loop was busy when it was due$/.exec(issues[0]!.message);
  assert.ok(m, issues[0]!.message);
  assert.ok(Number(m[1]) >= 190, `blocked 300 ms, due at 100 ms: about 200 ms late (said ${m[1]})`);
});

test('the schedule is a fixed grid: a tick\'s own duration does not shift the ticks after it', async () => {
  const contexts: TickContext[] = [];
  await runCollector({ intervalMs: 30, count: 4, immediate: true, signal: new AbortController().signal, keepAlive: true, onIssue: () => undefined }, async (c) => {
    contexts.push(c);
    await sleep(10);
  });
  const start = contexts[0]!.dueMs;
  contexts.forEach((c, k) => {
    // Slots are origin + k * interval; the subtraction back rounds in the last bit of a double
    // (CI once got 30.000000000000114), so the grid is checked to a nanosecond, not bit for bit.
    assert.ok(Math.abs(c.dueMs - start - k * 30) < 1e-6, `slot ${k}: ${c.dueMs - start} ms after the first, not ${k * 30}`);
    assert.ok(c.startedMs >= c.dueMs);
  });
});

test('a tick that returns N rests N slots: the next one is due N + 1 intervals on', async () => {
  const contexts: TickContext[] = [];
  const rests = [2, 0, 1];
  // 100 ms slots: a tick that returns at once is never past its next slot, even on a busy machine.
  await runCollector({ intervalMs: 100, count: 4, immediate: true, signal: new AbortController().signal, keepAlive: true, onIssue: () => undefined }, (c) => {
    contexts.push(c);
    return rests[c.n - 1];
  });
  const start = contexts[0]!.dueMs;
  assert.deepEqual(contexts.map((c) => Math.round((c.dueMs - start) / 100)), [0, 3, 4, 6]);
});

test('an abort ends the wait at once, and a tick in flight is awaited before the collector settles', async () => {
  const stop = new AbortController();
  let tickSettled = false;
  const started = performance.now();
  const run = runCollector({ intervalMs: 60_000, immediate: true, signal: stop.signal, keepAlive: true, onIssue: () => undefined }, async ({ signal }) => {
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => setTimeout(resolve, 50), { once: true }));
    tickSettled = true;
  });
  setTimeout(() => stop.abort(), 20);
  const summary = await run;
  assert.ok(tickSettled, 'the collector settled only after its tick did');
  assert.equal(summary.ticks, 1);
  assert.ok(performance.now() - started < 1000, 'not the 60 s interval');
});

test('an expected error in a tick is reported and the next tick runs; a bug rejects the collector', async () => {
  const issues: Issue[] = [];
  const seen: number[] = [];
  const summary = await runCollector({ intervalMs: 10, count: 3, immediate: true, signal: new AbortController().signal, keepAlive: true, onIssue: (i) => issues.push(i) }, ({ n }) => {
    seen.push(n);
    if (n === 2) throw new SourceError('procfs', '/proc/net/snmp vanished');
  });
  assert.deepEqual(seen, [1, 2, 3]);
  assert.equal(summary.failed, 1);
  assert.deepEqual(issues.filter((i) => i.code !== 'TCPDIAG_TICK_LATE').map((i) => [i.code, i.message]), [['TCPDIAG_SOURCE_FAILED', 'procfs: /proc/net/snmp vanished']]);
  await assert.rejects(
    runCollector({ intervalMs: 10, immediate: true, signal: new AbortController().signal, keepAlive: true, onIssue: () => undefined }, () => {
      throw new TypeError('a bug');
    }),
    /a bug/,
  );
});

test('a wait longer than Node\'s timer limit (2^31 - 1 ms) does not fire early', async () => {
  const stop = new AbortController();
  let ticks = 0;
  const run = runCollector({ intervalMs: 2 ** 31 + 1000, signal: stop.signal, keepAlive: true, onIssue: () => undefined }, () => {
    ticks++;
  });
  await sleep(100);
  stop.abort();
  await run;
  assert.equal(ticks, 0);
});

test('its timers are unref\'d: a collector alone does not keep a process alive, unless asked to', () => {
  const collector = fileURLToPath(new URL('./collector.js', import.meta.url));
  const script = (keepAlive: boolean): string =>
    `import(${JSON.stringify(collector)}).then(({ runCollector }) => runCollector({ intervalMs: 60000, keepAlive: ${keepAlive}, signal: new AbortController().signal, onIssue: () => {} }, () => {}))`;
  const alone = spawnSync(process.execPath, ['-e', script(false)], { timeout: 10_000 });
  assert.equal(alone.status, 0, 'exited by itself, long before the first tick');
  const held = spawnSync(process.execPath, ['-e', script(true)], { timeout: 1000 });
  assert.equal(held.signal, 'SIGTERM', 'still waiting when the 1 s timeout killed it');
});
