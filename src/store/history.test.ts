import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { HistoryStore } from './history.js';
import { StoreRefusedError } from '../errors.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const DAY = 86_400_000;
const retention = { keepMs: { '1s': DAY, '1m': 7 * DAY, '1h': 30 * DAY }, maxBytes: 1024 * 1024 * 1024 };

test('samples written at 1 s are rolled up into 1 min and 1 h means, minima and maxima', (t) => {
  const store = HistoryStore.open(join(tempDir(t), 'h.db'));
  t.after(() => store.close());
  const start = Date.UTC(2026, 0, 1, 10, 0, 0);
  // Two hours of one sample a second: the value is the second within its minute (0..59).
  for (let s = 0; s < 7200; s++) store.writeSample(start + s * 1000, new Map([['x', s % 60]]));
  store.rollup(start + 7200 * 1000);
  const minutes = store.series('x', '1m', start, start + 7200 * 1000, 1000);
  assert.equal(minutes.length, 120);
  for (const m of minutes) assert.deepEqual({ mean: m.mean, min: m.min, max: m.max, count: m.count }, { mean: 29.5, min: 0, max: 59, count: 60 });
  const hours = store.series('x', '1h', start, start + 7200 * 1000, 10);
  assert.deepEqual(hours.map((h) => [h.ts, h.mean, h.count]), [[start, 29.5, 3600], [start + 3_600_000, 29.5, 3600]]);
  // Idempotent: a second rollup at the same time adds nothing and changes nothing.
  store.rollup(start + 7200 * 1000);
  assert.equal(store.series('x', '1m', start, start + 7200 * 1000, 1000).length, 120);
});

test('a minute still open is not rolled up until it closes', (t) => {
  const store = HistoryStore.open(join(tempDir(t), 'h.db'));
  t.after(() => store.close());
  const start = Date.UTC(2026, 0, 1, 10, 0, 0);
  for (let s = 0; s < 90; s++) store.writeSample(start + s * 1000, new Map([['x', 1]]));
  store.rollup(start + 90_000);
  assert.equal(store.series('x', '1m', start, start + 120_000, 10).length, 1);
  for (let s = 90; s < 120; s++) store.writeSample(start + s * 1000, new Map([['x', 3]]));
  store.rollup(start + 120_000);
  const m = store.series('x', '1m', start, start + 120_000, 10);
  assert.deepEqual(m.map((p) => [p.mean, p.count]), [[1, 60], [2, 60]]);
});

test('retention drops each tier past its age, and the oldest 1 s rows first when the file is over its size', (t) => {
  const dir = tempDir(t);
  const store = HistoryStore.open(join(dir, 'h.db'));
  t.after(() => store.close());
  const now = Date.UTC(2026, 0, 2);
  for (let s = 0; s < 3 * 3600; s++) store.writeSample(now - 3 * 3_600_000 + s * 1000, new Map([['a', s], ['b', s], ['c', s]]));
  store.rollup(now);
  store.enforceRetention(now, { ...retention, keepMs: { ...retention.keepMs, '1s': 3_600_000 } });
  const raw = store.series('a', '1s', 0, now, 100_000);
  assert.equal(raw[0]!.ts, now - 3_600_000, 'only the last hour of 1 s samples is kept');
  assert.equal(store.series('a', '1m', 0, now, 1000).length, 180, 'the minutes of the hours dropped remain');
  const before = store.sizeBytes();
  store.enforceRetention(now, { ...retention, maxBytes: Math.floor(before / 2) });
  assert.ok(store.sizeBytes() <= before / 2, `under the cap: ${store.sizeBytes()} <= ${before / 2}`);
  assert.ok(store.series('a', '1s', 0, now, 100_000).length < raw.length, 'the oldest 1 s rows went');
  assert.equal(store.series('a', '1m', 0, now, 1000).length, 180, 'coarser tiers stay while 1 s rows can go');
});

test('alerts and findings are kept with their evidence and read back newest first', (t) => {
  const store = HistoryStore.open(join(tempDir(t), 'h.db'));
  t.after(() => store.close());
  store.writeAlert(1000, 'syn-rate', 'firing', 'P1', null, { evidence: { counters: { x: 1 } } });
  store.writeAlert(2000, 'syn-rate', 'resolved', 'P1', null, { status: 'resolved' });
  store.writeFindings(3000, [{ id: 'close-wait-leak', severity: 'warning' }]);
  assert.deepEqual(store.alerts(0, 10).map((a) => [a.ts, a.kind, a.data]), [[2000, 'syn-rate', { status: 'resolved' }], [1000, 'syn-rate', { evidence: { counters: { x: 1 } } }]]);
  assert.deepEqual(store.findings(0, 10).map((f) => f.kind), ['close-wait-leak']);
});

test('a file that is not SQLite is refused and left byte for byte as it was', (t) => {
  const path = join(tempDir(t), 'notes.db');
  writeFileSync(path, 'my precious notes\n'.repeat(100));
  const before = readFileSync(path);
  assert.throws(() => HistoryStore.open(path), (e: unknown) => e instanceof StoreRefusedError && /not an SQLite database/.test(e.message) && !e.message.includes('\n'));
  assert.deepEqual(readFileSync(path), before);
});

test('an SQLite database of another program is refused and not changed', (t) => {
  const path = join(tempDir(t), 'other.db');
  const other = new Database(path);
  other.pragma('application_id = 1234');
  other.exec('CREATE TABLE t (x)');
  other.close();
  const before = readFileSync(path);
  assert.throws(() => HistoryStore.open(path), (e: unknown) => e instanceof StoreRefusedError && /another program \(application_id 0x000004d2/.test(e.message));
  assert.deepEqual(readFileSync(path), before);
});

test('an SQLite database with tables but no application_id is refused, not adopted', (t) => {
  const path = join(tempDir(t), 'plain.db');
  const other = new Database(path);
  other.exec('CREATE TABLE t (x)');
  other.close();
  const size = statSync(path).size;
  assert.throws(() => HistoryStore.open(path), StoreRefusedError);
  assert.equal(statSync(path).size, size);
});

test('a store of a newer schema version is refused', (t) => {
  const path = join(tempDir(t), 'h.db');
  HistoryStore.open(path).close();
  const db = new Database(path);
  db.pragma('user_version = 99');
  db.close();
  assert.throws(() => HistoryStore.open(path), (e: unknown) => e instanceof StoreRefusedError && /schema version is 99/.test(e.message));
});

test('a truncated store is refused with one line', (t) => {
  const path = join(tempDir(t), 'h.db');
  const store = HistoryStore.open(path);
  for (let s = 0; s < 2000; s++) store.writeSample(s * 1000, new Map([['x', s]]));
  store.close();
  const bytes = readFileSync(path);
  // Keep the header, wipe the pages after it: the schema page is gone.
  writeFileSync(path, Buffer.concat([bytes.subarray(0, 100), Buffer.alloc(bytes.length - 100, 0xee)]));
  assert.throws(() => HistoryStore.open(path), (e: unknown) => e instanceof StoreRefusedError && !e.message.includes('\n'));
});

test('24 h of 1 s samples, maintained every simulated minute as the agent does, stay under the size cap', (t) => {
  const store = HistoryStore.open(join(tempDir(t), 'h.db'));
  t.after(() => store.close());
  const start = Date.UTC(2026, 0, 1);
  const maxBytes = 8 * 1024 * 1024;
  const cap = { keepMs: { '1s': DAY, '1m': 7 * DAY, '1h': 30 * DAY }, maxBytes };
  const values = new Map<string, number>();
  let largest = 0;
  for (let s = 0; s < 86_400; s++) {
    for (let m = 0; m < 6; m++) values.set(`m${m}`, (s * (m + 1)) % 977);
    store.writeSample(start + s * 1000, values);
    if (s % 60 === 59) {
      store.rollup(start + (s + 1) * 1000);
      store.enforceRetention(start + (s + 1) * 1000, cap);
      largest = Math.max(largest, store.sizeBytes());
    }
  }
  assert.ok(largest <= maxBytes * 1.1, `largest ${largest} bytes against a cap of ${maxBytes} (at most one minute of samples over it)`);
  assert.equal(store.series('m0', '1m', start, start + DAY, 10_000).length, 1440, 'every minute of the day is kept in the 1 min tier');
  assert.equal(store.series('m0', '1h', start, start + DAY, 100).length, 24);
  const raw = store.series('m0', '1s', start, start + DAY, 100_000);
  assert.ok(raw.length > 0 && raw.length < 86_400, `the oldest 1 s samples went to make room (${raw.length} kept)`);
  assert.equal(raw.at(-1)!.ts, start + 86_399_000, 'the newest are kept');
});
