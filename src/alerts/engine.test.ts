import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlertEngine } from './engine.js';
import type { MetricValues } from './engine.js';
import { BaselineStore } from './baseline.js';
import type { AlertRuleSpec, AlertTransition } from '../model/alert.js';

const rule = (over: Partial<AlertRuleSpec> = {}): AlertRuleSpec => ({
  name: 'syn-rate',
  metric: 'syn_per_s',
  comparison: 'above',
  threshold: 100,
  baseline: null,
  forMs: 10_000,
  keepFiringForMs: 0,
  resolveThreshold: null,
  severity: 'P2',
  scope: 'host',
  maxInstances: 10,
  repeatIntervalMs: 0,
  summary: 'SYNs per second',
  ...over,
});

/** Feed host values every 5 s from t=0 and collect the transitions with the sample index. */
function run(engine: AlertEngine, series: ReadonlyArray<number | null>, metric: keyof MetricValues = 'syn_per_s', stepMs = 5000): Array<AlertTransition & { index: number }> {
  const out: Array<AlertTransition & { index: number }> = [];
  series.forEach((v, index) => {
    for (const t of engine.evaluate({ [metric]: { host: v } }, index * stepMs)) out.push({ ...t, index });
  });
  return out;
}

test('a value held above the threshold for the hold fires once, then resolves when it drops', () => {
  const engine = new AlertEngine([rule()], null);
  const got = run(engine, [null, 10, 150, 160, 170, 180, 20, 20]);
  assert.deepEqual(got.map((t) => [t.index, t.status]), [[4, 'firing'], [6, 'resolved']]);
  assert.equal(got[0]!.value, 170);
  assert.equal(got[0]!.threshold, 100);
  assert.equal(got[0]!.activeSinceMs, 10_000, 'the hold started at the first breaching sample');
  assert.equal(got[1]!.startsAtMs, 20_000);
});

test('a value that crosses the threshold back and forth never fires when each crossing is shorter than the hold', () => {
  const engine = new AlertEngine([rule()], null);
  assert.deepEqual(run(engine, [0, 150, 10, 150, 10, 150, 150, 10, 150, 10]), []);
});

test('keepFiringFor and a lower resolve threshold keep a firing alert from flapping', () => {
  const engine = new AlertEngine([rule({ forMs: 0, keepFiringForMs: 15_000, resolveThreshold: 50 })], null);
  // Dips to 80 are below the threshold but above the resolve bar; dips to 10 last less than keepFiringFor.
  const got = run(engine, [150, 80, 150, 10, 150, 10, 10, 10, 10, 10]);
  assert.deepEqual(got.map((t) => [t.index, t.status]), [[0, 'firing'], [8, 'resolved']]);
});

test('unknown values (start-up, counter reset) end a hold and never fire or resolve', () => {
  const engine = new AlertEngine([rule({ forMs: 5000 })], null);
  assert.deepEqual(run(engine, [null, 150, null, 150, null, 150]), [], 'the hold restarts after every unknown sample');
  const firing = new AlertEngine([rule({ forMs: 0 })], null);
  assert.deepEqual(run(firing, [150, null, null, null]).map((t) => t.status), ['firing'], 'an unknown value does not resolve');
});

test('a firing alert is repeated at the repeat interval, and only then', () => {
  const engine = new AlertEngine([rule({ forMs: 0, repeatIntervalMs: 10_000 })], null);
  const got = run(engine, [150, 150, 150, 150, 150, 10]);
  assert.deepEqual(got.map((t) => [t.index, t.status, t.repeat]), [[0, 'firing', false], [2, 'firing', true], [4, 'firing', true], [5, 'resolved', false]]);
});

test('a below rule fires when the value falls under the threshold', () => {
  const engine = new AlertEngine([rule({ comparison: 'below', threshold: 10, forMs: 0 })], null);
  assert.deepEqual(run(engine, [20, 5, 15]).map((t) => [t.index, t.status]), [[1, 'firing'], [2, 'resolved']]);
});

test('per-listener instances fire and resolve on their own, the worst first up to the cap', () => {
  const engine = new AlertEngine([rule({ scope: 'listener', forMs: 0, maxInstances: 2 })], null);
  const at = (entries: Array<[string, number]>, ms: number) => engine.evaluate({ syn_per_s: { host: 0, listener: new Map(entries) } }, ms);
  const first = at([['a:1', 150], ['b:2', 300], ['c:3', 200], ['d:4', 5]], 0);
  assert.deepEqual(first.map((t) => [t.scope, t.status]), [['b:2', 'firing'], ['c:3', 'firing']]);
  assert.equal(engine.untrackedScopes('syn-rate'), 1, 'a:1 is over the threshold but beyond the cap');
  // b:2 closes (its scope disappears): resolved; a:1 now fits under the cap.
  const second = at([['a:1', 150], ['c:3', 200]], 5000);
  assert.deepEqual(second.map((t) => [t.scope, t.status, t.value]), [['b:2', 'resolved', null], ['a:1', 'firing', 150]]);
});

test('a baseline rule learns the usual and fires on a surge far above it without a hand threshold', () => {
  const baselines = new BaselineStore({ bucketMs: 5000, historyBuckets: 100, warmupBuckets: 10, hourOfWeek: false, maxSeries: 10 });
  const surge = rule({ name: 'new-connection-surge', metric: 'new_connections_per_s', threshold: null, baseline: { surgePercent: 300, deviations: 6, floor: 20 }, forMs: 5000 });
  const engine = new AlertEngine([surge], baselines);
  const steady = Array.from({ length: 20 }, (_, i) => 40 + (i % 5));
  const got = run(engine, [...steady, 400, 420, 410, 45, 40], 'new_connections_per_s');
  assert.deepEqual(got.map((t) => [t.index, t.status]), [[21, 'firing'], [23, 'resolved']]);
  assert.ok(got[0]!.threshold >= 42 * 4 && got[0]!.threshold < 400, `the learned threshold is four times the usual: ${got[0]!.threshold}`);
  const stats = baselines.stats('new_connections_per_s|host|', 25 * 5000);
  assert.ok(stats !== null && stats.median < 50, 'the surge was not learned as normal');
});

test('a baseline rule does not judge while it warms up, and a flat metric is held up by the floor', () => {
  const baselines = new BaselineStore({ bucketMs: 5000, historyBuckets: 100, warmupBuckets: 10, hourOfWeek: false, maxSeries: 10 });
  const surge = rule({ name: 'new-connection-surge', metric: 'new_connections_per_s', threshold: null, baseline: { surgePercent: 300, deviations: 6, floor: 20 }, forMs: 0 });
  const engine = new AlertEngine([surge], baselines);
  assert.deepEqual(run(engine, [1000, 1000, 0, 0, 0], 'new_connections_per_s'), [], 'no baseline yet: nothing to compare with');
  const flat = new AlertEngine([surge], new BaselineStore({ bucketMs: 5000, historyBuckets: 100, warmupBuckets: 5, hourOfWeek: false, maxSeries: 10 }));
  // A flat 0 has MAD 0: every wiggle would be "infinitely many deviations" without the floor.
  assert.deepEqual(run(flat, [0, 0, 0, 0, 0, 0, 0, 3, 7, 12, 19, 2], 'new_connections_per_s'), []);
});

test('a restored firing alert stays firing without a new notification and resolves when the condition is gone', () => {
  const first = new AlertEngine([rule({ forMs: 0 })], null);
  run(first, [150]);
  const saved = first.firingState();
  assert.equal(saved.length, 1);
  const second = new AlertEngine([rule({ forMs: 0 })], null);
  assert.equal(second.restoreFiring(saved), 1);
  const got = run(second, [null, 150, 10]);
  assert.deepEqual(got.map((t) => [t.index, t.status]), [[2, 'resolved']]);
});
