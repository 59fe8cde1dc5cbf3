/**
 * The agent's history survives a kill -9 in the middle of writes: every transaction the writer
 * saw commit is there when the file is opened again (WAL replay), nothing half-written is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { HistoryStore } from '../src/store/history.js';

const WRITER = new URL('./fixtures/programs/store-writer.js', import.meta.url).pathname;

test('kill -9 in the middle of writes loses no committed sample and no committed alert', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-kill-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'history.db');
  const child = spawn(process.execPath, [WRITER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  let committed = 0;
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  const lines = createInterface({ input: child.stdout });
  // Kill after 2000 commits, while it is writing the next one.
  for await (const line of lines) {
    const m = /^committed (\d+)$/.exec(line);
    if (m === null) continue;
    committed = Number(m[1]);
    if (committed >= 2000) {
      child.kill('SIGKILL');
      break;
    }
  }
  assert.equal(await exited, 'SIGKILL');
  assert.ok(existsSync(`${path}-wal`), 'the commits were in the write-ahead log, not yet checkpointed');
  const store = HistoryStore.open(path);
  t.after(() => store.close());
  const points = store.series('metric.0', '1s', 0, Number.MAX_SAFE_INTEGER, 200_000);
  assert.ok(points.length >= committed, `${points.length} samples after reopening, ${committed} were committed`);
  // Each sample is one transaction: all its metrics are there or none.
  const seconds = new Set(points.map((p) => p.ts));
  for (let m = 1; m < 20; m++) assert.equal(store.series(`metric.${m}`, '1s', 0, Number.MAX_SAFE_INTEGER, 200_000).length, points.length, `metric.${m} has every committed sample`);
  for (let n = 1; n <= committed; n++) assert.ok(seconds.has(n * 1000), `sample ${n} is there`);
  assert.ok(store.alerts(0, 100_000).length >= Math.floor(committed / 10));
  // The reopened store takes writes again.
  store.writeSample((points.length + 1) * 1000, new Map([['metric.0', 1]]));
});
