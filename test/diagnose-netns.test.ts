/**
 * `diagnose -N NAME` run from the host judges a network namespace as if it ran inside it: the
 * namespace's sockets (a CLOSE_WAIT leak), its counters (AttemptFails of refused connects) and
 * its events (the resets of those connects, through bpftrace's namespace test), while the
 * host's own diagnosis of the same port sees none of it.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { Netns, actor, checked, diagnose, finding, rootSkipReason, tcpdiagProcess } from './diagnose-support.js';

test('diagnose -N: the namespace\'s sockets, counters and events, named from the host', { timeout: 120_000 }, async (t) => {
  const skip = rootSkipReason('ip', 'bpftrace');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'dnetns');
  const server = await tcpdiagProcess(t, ['server', '0', '--host', '127.0.0.1', '--never-close', '--mode', 'discard'], ns);
  const port = Number((await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
  const holder = await actor(t, ['hold', '127.0.0.1', String(port), '12', '--end'], ns);
  await holder.waitFor(/^ready 12/m);

  const run = diagnose(['-N', ns.name, '--duration', '3s']);
  await run.started;
  const client = await actor(t, ['refused', '127.0.0.1', '9', '20'], ns);
  await client.waitFor(/^done refused 20/m);
  const { report, stderr } = await run.done;
  assert.match(stderr, new RegExp(`network namespace ${ns.name}`));

  const leak = finding(report, 'close-wait-leak');
  assert.equal(leak.evidence.count, 12);
  assert.deepEqual(leak.evidence.process, { pid: server.pid, process: server.comm });
  assert.deepEqual(leak.evidence.listeners, [{ listener: `127.0.0.1:${port}`, count: 12 }]);

  const refused = finding(report, 'conn-refused');
  assert.equal(refused.subject, '127.0.0.1:9');
  assert.equal(refused.evidence.refused, 20, 'the resets came from the namespace\'s events');
  assert.equal(refused.evidence.attemptFailsCounter, 20, 'AttemptFails is the namespace\'s counter');
  assert.deepEqual(refused.evidence.processes, [{ pid: client.pid, process: client.comm }]);

  // The host's own view of that port: the namespace's sockets are not in it.
  const host = await diagnose(['--no-events', '--duration', '1s', `sport = :${port} or dport = :${port}`]).done;
  assert.equal(host.report.findings.some((f) => f.id === 'close-wait-leak' && f.evidence.count === 12 && (f.evidence.process as { pid?: number } | undefined)?.pid === server.pid), false,
    'the host does not see the namespace\'s CLOSE_WAIT sockets');
  assert.notEqual(checked(host.report, 'close-wait-leak').status, 'skipped');
});
