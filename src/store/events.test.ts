import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HistoryStore } from './history.js';
import { EventStore } from './events.js';
import type { AgentEvent, RollupRow } from '../model/agent-event.js';

const T0 = 1_764_590_400_000;

function open(t: { after: (fn: () => void) => void }): { history: HistoryStore; events: EventStore; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-events-'));
  const path = join(dir, 'history.db');
  const history = HistoryStore.open(path);
  t.after(() => {
    history.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { history, events: new EventStore(history.connection), path };
}

const reset = (ts: number, port: number): AgentEvent => ({
  ts, kind: 'reset', family: 4, local: { address: '127.0.0.1', port: 80 }, remote: { address: '127.0.0.2', port }, direction: 'sent', state: null, reason: 'NO_SOCKET', detail: {},
});
const row = (ts: number, key: string, opened: number): RollupRow => ({
  ts, by: 'peer', key, opened, closed: 0, resets: 0, retransmits: 0, failed: 0, bytesSent: null, bytesReceived: 10, rttMeanMs: null, rttMaxMs: null, rttSamples: 0,
});

test('events, per-second counts and rollups are written in one transaction and read back by span and kind', (t) => {
  const { events } = open(t);
  events.write([reset(T0, 1), reset(T0 + 1500, 2)], [{ ts: T0, counter: 'open.active', n: 5 }, { ts: T0, counter: 'reset.sent', n: 1 }, { ts: T0 + 1000, counter: 'reset.sent', n: 1 }], [row(T0, '127.0.0.2', 3)]);
  events.write([], [{ ts: T0, counter: 'open.active', n: 2 }], [row(T0, '127.0.0.2', 4)]);
  assert.deepEqual(events.events({ fromMs: T0, toMs: T0 + 1000, kinds: ['reset'], limit: 10 }).map((e) => e.remote.port), [1]);
  assert.deepEqual(events.events({ fromMs: T0, toMs: T0 + 5000, kinds: ['retransmit'], limit: 10 }), []);
  const counts = events.counts(T0, T0 + 5000, null, 100);
  assert.deepEqual(counts.totals, { 'open.active': 7, 'reset.sent': 2 });
  assert.deepEqual(counts.perSecond['reset.sent'], [[T0, 1], [T0 + 1000, 1]]);
  const rows = events.rollups('peer', T0, T0, null, 10);
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.opened, 7, 'a minute written twice (a restart inside it) adds up');
  assert.equal(rows[0]!.bytesReceived, 20);
});

test('one connection\'s events, by its two ends, whichever spelling of an IPv4 address the event has', (t) => {
  const { events } = open(t);
  const mapped: AgentEvent = { ...reset(T0 + 10, 7), local: { address: '::ffff:127.0.0.1', port: 80 }, remote: { address: '::ffff:127.0.0.2', port: 7 } };
  events.write([reset(T0, 7), reset(T0 + 5, 8), mapped, { ...reset(T0 + 20, 7), local: { address: '127.0.0.1', port: 81 } }], [], []);
  const of = (lport: number, rport: number) => events.events({
    fromMs: T0, toMs: T0 + 1000, kinds: null, limit: 10,
    connection: { local: { addresses: ['127.0.0.1', '::ffff:127.0.0.1'], port: lport }, remote: { addresses: ['127.0.0.2', '::ffff:127.0.0.2'], port: rport } },
  }).map((e) => e.ts);
  assert.deepEqual(of(80, 7), [T0, T0 + 10], 'both spellings, not the other port of either end');
  assert.deepEqual(of(80, 8), [T0 + 5]);
  assert.deepEqual(of(81, 7), [T0 + 20]);
  assert.deepEqual(of(82, 7), []);
});

test('retention drops events by age, then the oldest past the row cap', (t) => {
  const { events, history } = open(t);
  events.write(Array.from({ length: 50 }, (_, i) => reset(T0 + i * 1000, i)), [{ ts: T0, counter: 'close', n: 1 }], [row(T0, 'a', 1)]);
  const removed = events.enforceRetention(T0 + 20_000 + 10_000, { keepMs: 10_000, maxEvents: 10, maxBytes: 1e12, sizeBytes: () => history.sizeBytes() });
  const left = events.events({ fromMs: 0, toMs: Infinity, kinds: null, limit: 1000 });
  assert.equal(left.length, 10);
  assert.deepEqual(left.map((e) => e.remote.port), [40, 41, 42, 43, 44, 45, 46, 47, 48, 49]);
  assert.ok(removed >= 42);
  assert.deepEqual(events.rollups('peer', 0, Infinity, null, 10), []);
});

test('a store too big gives up its oldest events until it fits or nothing is left', (t) => {
  const { events, history } = open(t);
  const many = Array.from({ length: 20_000 }, (_, i) => ({ ...reset(T0 + i * 10, i % 65535), detail: { pad: 'x'.repeat(100) } }));
  events.write(many, [], []);
  const before = history.sizeBytes();
  const cap = before / 2;
  events.enforceRetention(T0, { keepMs: 1e12, maxEvents: 1e9, maxBytes: cap, sizeBytes: () => history.sizeBytes() });
  assert.ok(history.sizeBytes() <= cap, `${history.sizeBytes()} > ${cap}`);
  const left = events.events({ fromMs: 0, toMs: Infinity, kinds: null, limit: 100_000 });
  assert.ok(left.length > 0 && left.length < many.length);
  assert.equal(left.at(-1)!.ts, many.at(-1)!.ts, 'the newest are kept');
});

test('past the limit, newestFirst keeps the newest events of the span (the service map is of now)', (t) => {
  const { events } = open(t);
  events.write([reset(T0, 1), reset(T0 + 1000, 2), reset(T0 + 2000, 3)], [], []);
  assert.deepEqual(events.events({ fromMs: T0, toMs: T0 + 5000, kinds: ['reset'], limit: 2 }).map((e) => e.remote.port), [1, 2]);
  assert.deepEqual(events.events({ fromMs: T0, toMs: T0 + 5000, kinds: ['reset'], limit: 2, newestFirst: true }).map((e) => e.remote.port), [3, 2]);
});
