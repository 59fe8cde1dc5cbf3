/**
 * diagnose on connection-lifecycle faults reproduced for real, each in a private network
 * namespace: a server that never closes (CLOSE_WAIT on its side, FIN_WAIT2 on the client's) and
 * an active closer that runs out of TIME_WAIT buckets.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { Netns, actor, checked, diagnose, finding, rootSkipReason, tcpdiagProcess } from './diagnose-support.js';

test('a server that never closes: close-wait-leak names it with the count, and fin-wait2-lingering the peer', { timeout: 90_000 }, async (t) => {
  const skip = rootSkipReason('ip');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'closewait');
  const server = await tcpdiagProcess(t, ['server', '0', '--host', '127.0.0.1', '--never-close', '--mode', 'discard'], ns);
  const port = Number((await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
  const client = await actor(t, ['hold', '127.0.0.1', String(port), '12', '--end'], ns);
  await client.waitFor(/^ready 12/m);

  // Narrowed with ss's expression, as with conns: both ends of these connections match.
  const { report } = await (diagnose(['--duration', '2s', `sport = :${port} or dport = :${port}`], ns).done);
  const leak = finding(report, 'close-wait-leak');
  assert.equal(leak.severity, 'warning');
  assert.deepEqual(leak.evidence.process, { pid: server.pid, process: server.comm });
  assert.equal(leak.evidence.count, 12);
  assert.equal(leak.evidence.stuckThroughWindow, 12);
  assert.deepEqual(leak.evidence.listeners, [{ listener: `127.0.0.1:${port}`, count: 12 }]);
  assert.deepEqual(leak.evidence.peers, [{ peer: '127.0.0.1', count: 12 }]);
  assert.match(leak.title, new RegExp(`\\(pid ${server.pid}\\) does not close 12 sockets`));

  const fin = finding(report, 'fin-wait2-lingering');
  assert.equal(fin.evidence.count, 12);
  assert.equal(fin.evidence.heldByApplication, 12);
  assert.deepEqual(fin.evidence.owners, [{ pid: client.pid, process: client.comm, sockets: 12 }]);
  assert.deepEqual(fin.evidence.peerProcesses, [{ pid: server.pid, process: server.comm, sockets: 12 }]);
  assert.deepEqual(fin.evidence.peerStates, ['CLOSE_WAIT']);
  assert.equal(checked(report, 'close-wait-leak').status, 'fired');
  assert.ok(report.score <= 70, `two warnings lower the score to 70 or less: ${report.score}`);
  assert.deepEqual(report.system.processes.map((p) => p.pid).sort(), [server.pid, client.pid].sort(), 'system shows the processes the findings name');
});

test('an active closer: time-wait-backlog counts the client-side TIME_WAIT and the bucket overflow', { timeout: 90_000 }, async (t) => {
  const skip = rootSkipReason('ip');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'timewait');
  // A namespace's own TIME_WAIT limit (net.ipv4.tcp_max_tw_buckets is per namespace): a few
  // hundred connections overflow it, as tens of thousands would on a default host.
  ns.sysctl('net.ipv4.tcp_max_tw_buckets', '300');
  const server = await actor(t, ['serve', '0', '--host', '127.0.0.1'], ns);
  const port = Number((await server.waitFor(/^ready (\d+)/m))[1]);
  const run = diagnose(['--duration', '4s'], ns);
  await run.started;
  const client = await actor(t, ['connect-loop', '127.0.0.1', String(port), '500', '--rate', '400'], ns);
  await client.waitFor(/^done 500/m, 30_000);
  const { report } = await run.done;

  const tw = finding(report, 'time-wait-backlog');
  assert.equal(tw.severity, 'critical', 'buckets overflowed');
  assert.ok((tw.evidence.timeWaitOverflow as number) >= 150, `TCPTimeWaitOverflow counted the connections closed without TIME_WAIT: ${JSON.stringify(tw.evidence)}`);
  assert.equal(tw.evidence.maxTwBuckets, 300);
  assert.ok((tw.evidence.count as number) >= 240 && (tw.evidence.count as number) <= 300, `TIME_WAIT held at the bucket limit: ${String(tw.evidence.count)}`);
  assert.equal(tw.evidence.closedFirstByServer, 0);
  assert.equal(tw.evidence.closedFirstByClient, tw.evidence.count);
  const pairs = tw.evidence.pairs as Array<{ closer: string; remote: string; count: number }>;
  assert.equal(pairs[0]?.remote, `127.0.0.1:${port}`);
  assert.equal(pairs[0]?.closer, 'this host (client)');
  assert.ok(tw.advice.some((a) => a.command === 'sysctl -w net.ipv4.tcp_max_tw_buckets=600' && a.current === '300'), JSON.stringify(tw.advice));
  assert.ok(tw.advice.some((a) => /tcp_tw_recycle/.test(a.text) && /Never/.test(a.text)), 'warns off tcp_tw_recycle');
});
