import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BaselineStore, hourOfWeek, robustStats } from './baseline.js';

const options = { bucketMs: 1000, historyBuckets: 50, warmupBuckets: 5, hourOfWeek: false, maxSeries: 3 };

test('median and MAD ignore the outliers a mean would chase', () => {
  const stats = robustStats([10, 11, 9, 10, 12, 10, 1000]);
  assert.deepEqual(stats, { median: 10, mad: 1, samples: 7 });
});

test('samples are averaged per bucket and the baseline is unknown until it has warmed up', () => {
  const store = new BaselineStore(options);
  for (let ms = 0; ms < 4500; ms += 250) store.observe('m', 10 + (ms % 1000) / 250, ms);
  assert.equal(store.stats('m', 4500), null, 'four closed buckets: still warming up');
  store.observe('m', 11.5, 5000);
  const stats = store.stats('m', 5000);
  assert.deepEqual(stats, { median: 11.5, mad: 0, samples: 5 });
});

test('the history slides: old buckets fall out', () => {
  const store = new BaselineStore({ ...options, historyBuckets: 5 });
  for (let i = 0; i < 10; i++) store.observe('m', 100, i * 1000);
  for (let i = 10; i < 20; i++) store.observe('m', 1, i * 1000);
  assert.equal(store.stats('m', 20_000)?.median, 1);
});

test('series beyond the cap are not learned, and counted', () => {
  const store = new BaselineStore(options);
  for (const key of ['a', 'b', 'c', 'd']) store.observe(key, 1, 0);
  assert.equal(store.size, 3);
  assert.equal(store.dropped, 1);
});

test('the state survives a round trip through JSON; a state of another bucket size is ignored', () => {
  const store = new BaselineStore({ ...options, hourOfWeek: true });
  for (let i = 0; i < 8; i++) store.observe('m', 5 + i, i * 1000);
  const text = JSON.stringify(store.toState());
  const back = new BaselineStore({ ...options, hourOfWeek: true });
  assert.equal(back.load(JSON.parse(text)), true);
  // The open bucket (7000-7999) is not saved: compare while it is still open.
  assert.deepEqual(back.stats('m', 7500), store.stats('m', 7500));
  assert.equal(back.stats('m', 7500)?.samples, 7);
  const other = new BaselineStore({ ...options, bucketMs: 60_000 });
  assert.equal(other.load(JSON.parse(text)), false);
  assert.equal(other.stats('m', 8000), null);
});

test('hour of week counts from Monday 00:00 UTC', () => {
  assert.equal(hourOfWeek(Date.UTC(2026, 10, 30, 0, 30)), 0, '2026-11-30 is a Monday');
  assert.equal(hourOfWeek(Date.UTC(2026, 11, 6, 23, 59)), 167);
});

test('with hourOfWeek, an hour compares with the same hour once it has warmed up', () => {
  const hourMs = 3_600_000;
  const store = new BaselineStore({ bucketMs: 60_000, historyBuckets: 10_000, warmupBuckets: 5, hourOfWeek: true, maxSeries: 1 });
  // Busy at hour 9 (value 100), quiet otherwise (value 1), over two days.
  for (let minute = 0; minute < 2 * 24 * 60; minute++) {
    const at = minute * 60_000;
    store.observe('m', Math.floor(at / hourMs) % 24 === 9 ? 100 : 1, at);
  }
  const nextDay9 = 2 * 24 * hourMs + 9 * hourMs + 1;
  assert.equal(store.stats('m', nextDay9)?.median, 1, 'hour 9 of the third day has no history of its own yet (another hour of week): the flat profile');
  const sameHour = 9 * hourMs + 30 * 60_000;
  assert.equal(store.stats('m', sameHour)?.median, 100, 'hour 9 of the first day compares with its own buckets');
});
