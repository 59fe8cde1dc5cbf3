/**
 * diagnose on resource limits and abuse reproduced for real in private network namespaces: a
 * narrow ephemeral port range, a process with a low open-files limit (prlimit), and one source
 * address holding many idle connections beside a normal client on another 127.0.0.x.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { Netns, actor, checked, diagnose, finding, rootSkipReason, startProcess, tcpdiagProcess, ACTOR } from './diagnose-support.js';

test('a narrow ip_local_port_range: port-exhaustion names the destination, the ports used and the process', { timeout: 90_000 }, async (t) => {
  const skip = rootSkipReason('ip');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'ports');
  ns.sysctl('net.ipv4.ip_local_port_range', '40000 40099');
  const server = await actor(t, ['serve', '9000', '--host', '127.0.0.1'], ns);
  await server.waitFor(/^ready 9000/m);
  const client = await actor(t, ['hold', '127.0.0.1', '9000', '90'], ns);
  await client.waitFor(/^ready 90/m);
  const { report } = await (diagnose(['--duration', '1s'], ns).done);

  const f = finding(report, 'port-exhaustion');
  assert.equal(f.severity, 'critical', 'ten ports left');
  assert.equal(f.subject, '127.0.0.1:9000');
  assert.equal(f.evidence.portsInUse, 90);
  assert.equal(f.evidence.usedPercent, 90);
  assert.equal(f.evidence.free, 10);
  assert.deepEqual(f.evidence.portRange, { low: 40000, high: 40099, size: 100 });
  assert.deepEqual(f.evidence.processes, [{ pid: client.pid, process: client.comm, sockets: 90 }]);
  const range = finding(report, 'sysctl-ip_local_port_range');
  assert.equal(range.evidence.current, '40000 40099');
  assert.equal(checked(report, 'sysctl-ip_local_port_range').value, 100);
});

test('a process with a low open-files limit: fd-exhaustion names it with its limit and sockets, with the log lines of the window; --fail-on exits 1', { timeout: 90_000 }, async (t) => {
  const skip = rootSkipReason('ip', 'prlimit');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'fds');
  const server = await actor(t, ['serve', '9000', '--host', '127.0.0.1'], ns);
  await server.waitFor(/^ready 9000/m);
  // prlimit execs the command: the pid is the fixture's.
  const holder = await startProcess(t, ['prlimit', '--nofile=64:64', process.execPath, ACTOR, 'hold', '127.0.0.1', '9000', '0', '--fill-fds', '0.9', '--limit', '64'], ns);
  const ready = await holder.waitFor(/^ready (\d+) fds (\d+)/m);
  const sockets = Number(ready[1]);
  const log = join(mkdtempSync(join(tmpdir(), 'tcpdiag-log-')), 'app.log');
  writeFileSync(log, 'accept: too many open files (written before the window)\n');
  const run = diagnose(['--duration', '1s', '--pid', String(holder.pid), '--log', log, '--journal', 'tcpdiag-test.service', '--fail-on', 'warning'], ns, 1);
  await run.started;
  appendFileSync(log, 'GET /health 200\nhttp: Accept error: accept tcp [::]:9000: accept4: too many open files; retrying in 5ms\n');
  const { report } = await run.done;

  const f = finding(report, 'fd-exhaustion');
  assert.deepEqual(f.evidence.process, { pid: holder.pid, process: holder.comm });
  assert.equal(f.evidence.fdLimitSoft, 64);
  assert.equal(f.evidence.fdLimitHard, 64);
  // The fixture counted 58 with the directory handle of its own count open: 57 at rest.
  assert.ok((f.evidence.openFds as number) >= 55, `about 90% of 64: ${String(f.evidence.openFds)}`);
  assert.equal(f.evidence.usedPercent, Math.round((10000 * (f.evidence.openFds as number)) / 64) / 100);
  assert.equal(f.evidence.tcpSockets, sockets);
  assert.match(f.advice[0]?.command ?? '', new RegExp(`^prlimit --pid ${holder.pid} --nofile=`));
  const proc = report.system.processes.find((p) => p.pid === holder.pid);
  assert.equal(proc?.fdLimitSoft, 64, 'system shows the process with its limit');
  // --log: only the window's lines, and only the one that matches the finding.
  assert.deepEqual(f.logLines, [{ origin: log, text: 'http: Accept error: accept tcp [::]:9000: accept4: too many open files; retrying in 5ms', atMs: null }]);
  assert.deepEqual(report.logs[0], { origin: log, status: 'read', lines: 2 });
  // --journal on a host without journald is skipped with the reason, not an error.
  const journal = report.logs[1];
  assert.equal(journal?.origin, 'journal:tcpdiag-test.service');
  assert.equal(journal?.status, 'skipped');
  assert.match(journal?.reason ?? '', /journal/);
});

test('one source holding many idle connections beside a normal client: slow-connection-attack names only that source', { timeout: 90_000 }, async (t) => {
  const skip = rootSkipReason('ip');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'slow');
  const server = await tcpdiagProcess(t, ['server', '0', '--host', '127.0.0.1', '--mode', 'discard'], ns);
  const port = String(Number((await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]));
  // A partial request on each: a few bytes, never completed, never answered.
  const attacker = await actor(t, ['hold', '127.0.0.1', port, '80', '--local', '127.0.0.2', '--send', '12'], ns);
  await attacker.waitFor(/^ready 80/m);
  const normal = await actor(t, ['hold', '127.0.0.1', port, '4', '--local', '127.0.0.3', '--send', '2000', '--every', '100'], ns);
  await normal.waitFor(/^ready 4/m);
  const { report } = await (diagnose(['--duration', '2s'], ns).done);

  const f = finding(report, 'slow-connection-attack');
  assert.equal(f.subject, '127.0.0.2');
  assert.equal(f.evidence.idleConnections, 80);
  assert.equal(f.evidence.listener, `127.0.0.1:${port}`);
  assert.deepEqual(f.evidence.process, { pid: server.pid, process: server.comm });
  assert.deepEqual(f.evidence.otherSources, [{ source: '127.0.0.3', connections: 4 }]);
  assert.equal(f.severity, 'critical', 'it holds most of the listener\'s connections');
  assert.match(f.advice[0]?.command ?? '', /ip saddr 127\.0\.0\.2 tcp dport \d+ ct count over 20/);
});
