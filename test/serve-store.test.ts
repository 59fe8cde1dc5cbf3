/**
 * The agent's history survives a kill -9 in the middle of writes: every transaction the writer
 * saw commit is there when the file is opened again (WAL replay), nothing half-written is; the
 * same for `tcpdiag serve` itself, checked against what its API had served. A file that is not
 * a store this tcpdiag reads is refused by `serve` and left byte for byte as it was.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { HistoryStore } from '../src/store/history.js';
import { runCli } from './helpers/cli.js';
import { Netns, actor, rootSkipReason, tcpdiagProcess } from './diagnose-support.js';
import { tempDir, writeConfig } from './watch-support.js';
import { NsHttp, ssCount, startAgent, until } from './serve-support.js';

const LEAK = 7;

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

/** What the agent answered before it was killed: points by second, findings by id. */
interface Served {
  readonly points: Map<number, number>;
  readonly findings: Map<number, string>;
}

test('kill -9 of tcpdiag serve in the middle of its writes loses nothing it had served, and the file is consistent', { timeout: 90_000 }, async (t) => {
  const skip = rootSkipReason('ip', 'ss');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'servekill');
  const dir = tempDir(t, 'serve-kill');
  const data = join(dir, 'data');
  // Counters every 100 ms: the agent commits a sample ten times a second, so the kill lands
  // among writes; a sample within one second replaces the second's row in the same transaction.
  const config = writeConfig(dir, '[agent]\ncounters_interval_s = 0.1\nsample_interval_s = 0.5\ndiagnose_interval_s = 0\n');
  // The known pattern: LEAK sockets in CLOSE_WAIT all along (a server that never closes).
  const server = await tcpdiagProcess(t, ['server', '0', '--host', '127.0.0.1', '--never-close', '--mode', 'discard'], ns);
  const port = Number((await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
  await (await actor(t, ['hold', '127.0.0.1', String(port), String(LEAK), '--end'], ns)).waitFor(/ready/);
  await until('ss sees the leak', 5000, () => Promise.resolve(ssCount(ns, 'close-wait') === LEAK ? true : undefined));
  const agent = await startAgent(t, ns, data, config);
  const http = new NsHttp(t, ns);
  const served: Served = { points: new Map(), findings: new Map() };
  const deadline = Date.now() + 5000;
  let diagnoses = 0;
  while (Date.now() < deadline) {
    const s = await http.json<{ points: { ts: number; mean: number }[] }>(`${agent.url}/api/v1/series?metric=connections.CLOSE_WAIT&tier=1s`);
    for (const p of s.points) served.points.set(p.ts, p.mean);
    // Each diagnosis that finds the leak writes its findings before it answers.
    // (503 until the first socket sample, or while one runs.)
    const r = await http.request('POST', `${agent.url}/api/v1/diagnose`);
    if (r.status !== 200) continue;
    const d = JSON.parse(r.body) as { findings: { id: string }[]; toMs: number };
    diagnoses += 1;
    for (const f of d.findings) served.findings.set(d.toMs, f.id);
  }
  agent.proc.child.kill('SIGKILL');
  await new Promise<void>((resolve) => (agent.proc.child.signalCode !== null ? resolve() : agent.proc.child.once('exit', () => resolve())));
  assert.equal(agent.proc.child.signalCode, 'SIGKILL');
  const path = join(data, 'history.db');
  assert.ok(existsSync(`${path}-wal`), 'killed with its commits in the write-ahead log');
  assert.ok(served.points.size >= 4 && [...served.points.values()].every((v) => v === LEAK), `the pattern was served: ${JSON.stringify([...served.points])}`);
  assert.ok([...served.findings.values()].includes('close-wait-leak'), `${diagnoses} diagnoses found the leak: ${JSON.stringify([...served.findings])}`);

  const store = HistoryStore.open(path);
  const rows = new Map(store.series('connections.CLOSE_WAIT', '1s', 0, Number.MAX_SAFE_INTEGER, 100_000).map((p) => [p.ts, p.mean]));
  for (const [ts, mean] of served.points) assert.equal(rows.get(ts), mean, `the sample of ${ts} the agent served is there`);
  const findings = store.findings(0, 100_000);
  for (const [ts, id] of served.findings) assert.ok(findings.some((f) => f.ts === ts && f.kind === id), `the finding ${id} of ${ts} is there`);
  // Each sample is one transaction: every second holds every state, none a part of them.
  const states = store.metrics().filter((m) => m.startsWith('connections.'));
  assert.equal(states.length, 11);
  for (const state of states) assert.equal(store.series(state, '1s', 0, Number.MAX_SAFE_INTEGER, 100_000).length, rows.size, `${state} has a row in every second`);
  store.close();
  const db = new Database(path);
  t.after(() => db.close());
  assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  const checkpoint = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number; log: number; checkpointed: number }[];
  assert.equal(checkpoint[0]!.busy, 0, 'the WAL checkpoints completely: no frame is torn');
  db.close();

  // A restart after the crash serves the same history.
  const again = await startAgent(t, ns, data, config);
  const after = await http.json<{ points: { ts: number; mean: number }[] }>(`${again.url}/api/v1/series?metric=connections.CLOSE_WAIT&tier=1s`);
  const afterPoints = new Map(after.points.map((p) => [p.ts, p.mean]));
  for (const [ts, mean] of served.points) assert.equal(afterPoints.get(ts), mean, `served again after the restart: ${ts}`);
});

/** Files a history path must refuse, each with the reason `tcpdiag serve` gives. */
function foreignStores(): { readonly name: string; readonly make: (path: string) => void; readonly reason: RegExp }[] {
  return [
    {
      name: 'an SQLite database of another program',
      make: (path) => {
        const db = new Database(path);
        db.pragma('journal_mode = WAL');
        db.pragma('application_id = 1234');
        db.exec('CREATE TABLE notes (x); INSERT INTO notes VALUES (1)');
        db.close();
      },
      reason: /it is an SQLite database of another program \(application_id 0x000004d2/,
    },
    {
      name: 'a tcpdiag store whose pages were overwritten',
      make: (path) => {
        const store = HistoryStore.open(path);
        for (let s = 0; s < 2000; s++) store.writeSample(s * 1000, new Map([['x', s]]));
        store.close();
        const bytes = readFileSync(path);
        writeFileSync(path, Buffer.concat([bytes.subarray(0, 100), Buffer.alloc(bytes.length - 100, 0xee)]));
      },
      reason: /refusing the store .*history\.db: /,
    },
    {
      name: 'a tcpdiag store of a newer schema',
      make: (path) => {
        HistoryStore.open(path).close();
        const db = new Database(path);
        db.pragma('user_version = 99');
        db.close();
      },
      reason: /its schema version is 99; this tcpdiag reads version 1/,
    },
  ];
}

test('tcpdiag serve refuses another program\'s database, an overwritten store or a newer one in one line and leaves it byte for byte as it was', async (t) => {
  const dir = tempDir(t, 'serve-refuse');
  for (const c of foreignStores()) {
    const data = join(dir, c.name.replace(/\W+/g, '-'));
    mkdirSync(data);
    const path = join(data, 'history.db');
    c.make(path);
    const files = readdirSync(data).sort();
    const before = readFileSync(path);
    const r = await runCli(['serve', '--listen', '127.0.0.1:0', '--data', data]);
    assert.equal(r.code, 1, `${c.name}: ${r.stderr}`);
    assert.match(r.stderr, c.reason, c.name);
    assert.match(r.stderr, /\[TCPDIAG_STORE_REFUSED\]\n\s+hint: move the file away or pass another --data DIR/, c.name);
    assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('tcpdiag:')).length, 1, `${c.name}: one error line`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, `${c.name}: no stack trace`);
    assert.doesNotMatch(r.stdout, /listening on/);
    assert.ok(before.equals(readFileSync(path)), `${c.name}: the file is byte for byte as it was`);
    assert.deepEqual(readdirSync(data).filter((f) => f !== 'token').sort(), files, `${c.name}: no -wal or -shm file left beside it`);
  }
});
