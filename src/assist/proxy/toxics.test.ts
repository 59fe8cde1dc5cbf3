import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ToxicSet, describeToxic, parseToxicSpec } from './toxics.js';
import { runControlCommand } from './control.js';

const noStats = () => ({ connectionsTotal: 0, connectionsOpen: 0, bytesUp: 0, bytesDown: 0 });

test('a spec without a direction applies to both directions', () => {
  assert.deepEqual(parseToxicSpec('latency=100ms,jitter=10ms'), [
    { direction: 'upstream', type: 'latency', latencyMs: 100, jitterMs: 10 },
    { direction: 'downstream', type: 'latency', latencyMs: 100, jitterMs: 10 },
  ]);
});

test('directions, sizes and durations parse with their units', () => {
  assert.deepEqual(parseToxicSpec('down:bandwidth=64k'), [{ direction: 'downstream', type: 'bandwidth', bytesPerSecond: 65536 }]);
  assert.deepEqual(parseToxicSpec('upstream:reset-after=1k'), [{ direction: 'upstream', type: 'reset-after', bytes: 1024 }]);
  assert.deepEqual(parseToxicSpec('up:slow-close=2s'), [{ direction: 'upstream', type: 'slow-close', delayMs: 2000 }]);
  assert.deepEqual(parseToxicSpec('down:timeout=0'), [{ direction: 'downstream', type: 'timeout', delayMs: 0 }]);
});

test('bad specs say what is wrong', () => {
  assert.throws(() => parseToxicSpec('lag=1s'), /unknown type "lag"/);
  assert.throws(() => parseToxicSpec('latency'), /latency needs a value/);
  assert.throws(() => parseToxicSpec('latency=1s,burst=2'), /unknown option burst/);
  assert.throws(() => parseToxicSpec('bandwidth=0'), /out of range: a size in bytes is 1-1G/);
  assert.throws(() => parseToxicSpec('slow-close=0'), /out of range: expected 1ms-1h/);
});

test('the set replaces by direction+type, removes by name or type, and views per direction', () => {
  const set = new ToxicSet();
  assert.equal(set.forDirection('upstream').none, true);
  set.add('latency=100ms');
  set.add('down:latency=200ms');
  assert.deepEqual(set.list().map(describeToxic), ['upstream:latency 100 ms', 'downstream:latency 200 ms']);
  assert.equal(set.forDirection('downstream').latency?.latencyMs, 200);
  assert.deepEqual(set.remove('down:latency'), ['downstream:latency']);
  assert.equal(set.forDirection('downstream').none, true);
  set.add('down:timeout=1s');
  assert.deepEqual(set.remove('latency'), ['upstream:latency']);
  assert.deepEqual(set.clear(), ['downstream:timeout']);
});

test('control commands report errors instead of throwing', () => {
  const set = new ToxicSet();
  assert.equal(runControlCommand('add down:latency=5ms', set, noStats).ok, true);
  assert.equal(runControlCommand('list', set, noStats).message, 'downstream:latency 5 ms');
  const bad = runControlCommand('add latency=soon', set, noStats);
  assert.equal(bad.ok, false);
  assert.match(bad.message, /not a duration/);
  assert.equal(runControlCommand('frobnicate', set, noStats).ok, false);
  assert.equal(runControlCommand('clear', set, noStats).toxics.length, 0);
});
