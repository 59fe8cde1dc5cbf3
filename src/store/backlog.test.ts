import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskBacklog } from './backlog.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-backlog-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('batches survive a reopen in order, and a crash\'s temporary file is removed', (t) => {
  const dir = tempDir(t);
  const a = DiskBacklog.open(dir, 1 << 20);
  a.append(Buffer.from('one'), 1);
  a.append(Buffer.from('two'), 2);
  writeFileSync(join(dir, '000000000003.5.batch.tmp'), 'half');
  const b = DiskBacklog.open(dir, 1 << 20);
  assert.deepEqual(b.oldest(100).map((e) => b.read(e).toString()), ['one', 'two']);
  assert.equal(b.status().pendingItems, 3);
  assert.ok(!readdirSync(dir).some((n) => n.endsWith('.tmp')));
  b.append(Buffer.from('three'), 4);
  assert.deepEqual(b.oldest(100).map((e) => e.seq), [1, 2, 3]);
});

test('past its cap the oldest batches go first and their items are counted as overflow, across restarts', (t) => {
  const dir = tempDir(t);
  const q = DiskBacklog.open(dir, 10);
  q.append(Buffer.alloc(4), 7);
  q.append(Buffer.alloc(4), 8);
  q.append(Buffer.alloc(4), 9); // 12 bytes > 10: the first goes
  assert.deepEqual(q.oldest(100).map((e) => e.items), [8, 9]);
  assert.equal(q.status().dropped.overflow, 7);
  assert.equal(DiskBacklog.open(dir, 10).status().dropped.overflow, 7);
});

test('oldest() stops at the item budget but always gives one batch; remove(rejected) counts', (t) => {
  const q = DiskBacklog.open(tempDir(t), 1 << 20);
  q.append(Buffer.from('a'), 50);
  q.append(Buffer.from('b'), 50);
  q.append(Buffer.from('c'), 50);
  assert.equal(q.oldest(120).length, 2);
  assert.equal(q.oldest(10).length, 1);
  q.remove(q.oldest(10), true);
  assert.equal(q.status().dropped.rejected, 50);
  assert.equal(q.status().pendingItems, 100);
});
