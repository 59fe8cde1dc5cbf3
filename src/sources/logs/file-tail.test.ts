import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { LogFileTail } from './file-tail.js';
import { journalFilesExist, parseJournalJson } from './journal.js';
import { mkdirSync } from 'node:fs';
import { FileUnreadableError } from '../../errors.js';

const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-tail-'));

test('only the lines appended during the window, complete ones only', () => {
  const path = join(dir, 'app.log');
  writeFileSync(path, 'before 1\nbefore 2\n');
  const tail = LogFileTail.start(path);
  appendFileSync(path, 'during 1\n\nduring 2\npartial');
  assert.deepEqual(tail.finish(1 << 20), { lines: ['during 1', 'during 2'], truncatedBytes: 0 });
});

test('more than the cap: the newest part, from a line boundary, and what was left is counted', () => {
  const path = join(dir, 'big.log');
  writeFileSync(path, '');
  const tail = LogFileTail.start(path);
  const lines = Array.from({ length: 1000 }, (_, i) => `line ${String(i).padStart(4, '0')}`);
  appendFileSync(path, lines.join('\n') + '\n');
  const result = tail.finish(100);
  assert.ok(result.lines.length >= 8 && result.lines.length <= 10, String(result.lines.length));
  assert.equal(result.lines.at(-1), 'line 0999');
  assert.ok(result.lines.every((l) => /^line \d{4}$/.test(l)), 'no partial first line');
  assert.equal(result.truncatedBytes, 10_000 - 100);
});

test('a file truncated during the window (rotated) is read from its start', () => {
  const path = join(dir, 'rotated.log');
  writeFileSync(path, 'old line that is long enough\n'.repeat(10));
  const tail = LogFileTail.start(path);
  writeFileSync(path, 'new 1\n');
  assert.deepEqual(tail.finish(1 << 20).lines, ['new 1']);
});

test('a file that cannot be read is a clear error naming it', () => {
  assert.throws(() => LogFileTail.start(join(dir, 'missing.log')), (e: unknown) => e instanceof FileUnreadableError && e.message.includes('missing.log'));
  assert.throws(() => LogFileTail.start(dir), FileUnreadableError);
});

test('journal JSON: text and byte-array messages with their times; broken lines skipped', () => {
  const text = [
    JSON.stringify({ MESSAGE: 'accept4() failed (24: Too many open files)', __REALTIME_TIMESTAMP: '1700000000123456' }),
    JSON.stringify({ MESSAGE: [104, 105], __REALTIME_TIMESTAMP: '1700000001000000' }),
    '{"MESSAGE": "cut',
  ].join('\n');
  assert.deepEqual(parseJournalJson(text), [
    { text: 'accept4() failed (24: Too many open files)', atMs: 1700000000123 },
    { text: 'hi', atMs: 1700000001000 },
  ]);
});

test('journal files are found in a journal directory or its machine-id subdirectory, and their absence is told', () => {
  const root = mkdtempSync(join(tmpdir(), 'tcpdiag-journal-'));
  assert.equal(journalFilesExist([root, join(root, 'none')]), false);
  mkdirSync(join(root, '0123456789abcdef'));
  writeFileSync(join(root, '0123456789abcdef', 'system.journal'), '');
  assert.equal(journalFilesExist([join(root, 'none'), root]), true);
});
