/**
 * No false alarms: diagnose finds nothing of warning or critical severity on a quiet host, nor
 * under heavy healthy load — keep-alive request/response at full speed plus hundreds of new
 * connections per second (bounded loops), each in a private network namespace so that what runs
 * there is exactly what the test started. Without root it still runs, and says which rules it
 * skipped and what grants them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import test from 'node:test';
import { Netns, actor, assertNoAlarms, diagnose, rootSkipReason } from './diagnose-support.js';
import { CLI, REPO_ROOT } from './helpers/cli.js';
import type { DiagnosisReport } from '../src/model/diagnosis.js';

test('a quiet host: no finding, and every rule passes but the two host-wide limits a namespace cannot read', { timeout: 60_000 }, async (t) => {
  const skip = rootSkipReason('ip');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'quiet');
  const { report } = await (diagnose(['--duration', '2s'], ns).done);
  assert.deepEqual(report.findings, []);
  assert.equal(report.score, 100);
  // tcp_mem and tcp_max_orphans are host-wide: a namespace's /proc/sys does not show them.
  assert.deepEqual(report.checked.filter((c) => c.status !== 'passed').map((c) => `${c.id}: ${c.reason ?? c.status}`), [
    'orphan-sockets: net.ipv4.tcp_max_orphans is host-wide and only visible from the initial network namespace: run the diagnosis there to judge it',
    'tcp-memory-pressure: net.ipv4.tcp_mem is host-wide and only visible from the initial network namespace: run the diagnosis there to judge it',
  ]);
  assert.ok(report.checked.length >= 24);
});

test('heavy healthy load (keep-alive at full speed + 400 new connections/s): no warning or critical finding', { timeout: 90_000 }, async (t) => {
  const skip = rootSkipReason('ip');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'load');
  const server = await actor(t, ['serve', '9000', '--host', '127.0.0.1'], ns);
  await server.waitFor(/^ready 9000/m);
  const run = diagnose(['--duration', '4s'], ns);
  await run.started;
  const keepAlive = await actor(t, ['ping-pong', '127.0.0.1', '9000', '8', '6'], ns);
  const churn = await actor(t, ['connect-loop', '127.0.0.1', '9000', '2400', '--rate', '400'], ns);
  const { report } = await run.done;
  const exchanges = Number((await keepAlive.waitFor(/^done (\d+)/m, 30_000))[1]);
  await churn.waitFor(/^done 2400/m, 30_000);

  assertNoAlarms(report);
  assert.ok(exchanges > 10_000, `the keep-alive load ran at full speed: ${exchanges} exchanges`);
  const tw = report.checked.find((c) => c.id === 'time-wait-backlog');
  assert.ok(typeof tw?.value === 'number' && tw.value >= 800, `the churn left TIME_WAIT behind: ${JSON.stringify(tw)}`);
  const refused = report.checked.find((c) => c.id === 'conn-refused');
  assert.match(refused?.measure ?? '', /of (\d{4,}) connect attempts/, 'the events saw the churn');
});

test('without root: the report still comes, and says which rules were skipped and how to get them', { timeout: 60_000 }, (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root to drop to an unprivileged user for the check');
  if (spawnSync('sh', ['-c', 'command -v setpriv']).status !== 0) return t.skip('needs setpriv (util-linux)');
  const r = spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, CLI, 'diagnose', '--json', '--duration', '1s'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0 && /EACCES|permission denied/i.test(r.stderr)) return t.skip(`the worktree is not readable by nobody: ${r.stderr.split('\n')[0] ?? ''}`);
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as DiagnosisReport;
  const refused = report.checked.find((c) => c.id === 'conn-refused');
  assert.equal(refused?.status, 'skipped');
  assert.match(refused?.reason ?? '', /root/);
  assert.match(refused?.hint ?? '', /sudo/);
  assert.ok(report.issues.some((i) => i.code === 'TCPDIAG_NEEDS_ROOT'), JSON.stringify(report.issues));
  assert.ok(report.checked.filter((c) => c.status === 'passed').length >= 15, 'the rules that need no root still ran');
});
