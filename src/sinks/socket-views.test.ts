import { test } from 'node:test';
import assert from 'node:assert/strict';
import { counterDelta, movedCounters } from '../analysis/counter-rates.js';
import { TCP_STATES } from '../model/tcp-state.js';
import type { TcpState } from '../model/tcp-state.js';
import { renderStats } from './socket-views.js';

const states = Object.fromEntries(TCP_STATES.map((s) => [s, 0])) as Record<TcpState, number>;
const before = { RtoAlgorithm: 1, ActiveOpens: 10, RetransSegs: 5, OutSegs: 100, CurrEstab: 3, SockstatTw: 7 };
const after = { RtoAlgorithm: 1, ActiveOpens: 14, RetransSegs: 5, OutSegs: 100, CurrEstab: 4, SockstatTw: 7 };

const counterNames = (text: string): string[] =>
  text.split('\n').slice(text.split('\n').findIndex((l) => l.startsWith('COUNTER')) + 1).map((l) => l.split(/\s+/)[0]!).filter((n) => /^[A-Z][A-Za-z0-9]+$/.test(n) && n !== 'TCP' && n !== 'Retransmission');

test('an interval view shows only the counters that moved, gauges included; --all shows every one', () => {
  const moved = movedCounters(before, after);
  assert.deepEqual([...moved].sort(), ['ActiveOpens', 'CurrEstab']);
  const delta = counterDelta(before, after, 1000);
  const view = { states, counters: after, delta, retransRatio: null, sysctl: {}, showSysctl: false };
  assert.deepEqual(counterNames(renderStats({ ...view, rows: 'moved', moved })), ['ActiveOpens', 'CurrEstab']);
  assert.deepEqual(counterNames(renderStats({ ...view, rows: 'all', moved })), Object.keys(after));
});

test('an interval in which nothing moved says so instead of printing an empty table', () => {
  const delta = counterDelta(after, after, 2000);
  const text = renderStats({ states, counters: after, delta, retransRatio: null, sysctl: {}, showSysctl: false, rows: 'moved', moved: new Set() });
  assert.match(text, /No counter moved in the last 2\.0 s \(--all shows every counter\)\./);
  assert.doesNotMatch(text, /^COUNTER/m);
});
