/**
 * diagnose on data-path faults reproduced for real in private network namespaces: a loss rule
 * (tcpdiag fault loss), a reader that stops reading (server --never-read), and an MTU step with
 * ICMP blocked between two namespaces joined through a router namespace (veth pairs).
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { Netns, actor, checked, diagnose, finding, rootSkipReason, sleep, tcpdiagProcess } from './diagnose-support.js';

test('a loss rule: retransmission-high measures the ratio and names the peer and the process', { timeout: 90_000 }, async (t) => {
  const skip = rootSkipReason('ip', 'nft');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'loss');
  // Four streams: loopback segments are up to 64 KB and loss makes them back off, so one stream
  // sends too few segments in a few seconds for the ratio to be judged (retrans_min_segments).
  const stream = await actor(t, ['stream', '12', '4'], ns);
  const port = Number((await stream.waitFor(/^ready (\d+)/m))[1]);
  const fault = await tcpdiagProcess(t, ['fault', 'loss', '--port', String(port), '--percent', '10', '--duration', '20s'], ns);
  await fault.waitFor(/^installed loss 10%/m);
  const { report } = await (diagnose(['--duration', '4s'], ns).done);

  const f = finding(report, 'retransmission-high');
  assert.ok((f.evidence.ratioPercent as number) >= 1, JSON.stringify(f.evidence));
  assert.ok((f.evidence.retransmittedSegments as number) >= 10);
  const peers = f.evidence.peers as Array<{ peer: string; processes: Array<{ pid: number; process: string }> }>;
  assert.equal(peers[0]?.peer, '127.0.0.1');
  assert.deepEqual(peers[0]?.processes, [{ pid: stream.pid, process: stream.comm }]);
  assert.equal(f.subject, '127.0.0.1');
  const c = checked(report, 'retransmission-high');
  assert.equal(c.status, 'fired');
  assert.equal(c.threshold, 1);
});

test('a reader that stops reading: zero-window names the reading process and the stuck sender', { timeout: 90_000 }, async (t) => {
  const skip = rootSkipReason('ip');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'zerowin');
  const server = await tcpdiagProcess(t, ['server', '0', '--host', '127.0.0.1', '--never-read'], ns);
  const port = Number((await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
  const writer = await actor(t, ['write', '127.0.0.1', String(port), String(20 * 1024 * 1024)], ns);
  await writer.waitFor(/^ready/m);
  await sleep(500);
  const { report } = await (diagnose(['--duration', '2s', '--port', String(port)], ns).done);

  const f = finding(report, 'zero-window');
  assert.deepEqual(f.evidence.reader, { pid: server.pid, process: server.comm });
  assert.deepEqual(f.evidence.senders, [{ pid: writer.pid, process: writer.comm }]);
  assert.equal(f.evidence.connections, 1);
  assert.ok((f.evidence.unreadBytes as number) > 0, 'the unread bytes sit in the reader\'s receive queue');
  assert.ok((f.evidence.waitingToSendBytes as number) > 0);
  assert.equal(f.subject, `${server.comm}[${server.pid}]`);
});

test('an MTU step with ICMP blocked: mtu-blackhole names the peer, the MSS and the client; tcp_mtu_probing is off', { timeout: 90_000 }, async (t) => {
  const skip = rootSkipReason('ip', 'nft');
  if (skip !== null) return t.skip(skip);
  // client (1500) -- router -- [1400] -- server (1500): the narrow link is in the middle, so
  // both ends negotiate an MSS of 1460 and only the router knows the path is smaller.
  const cli = Netns.create(t, 'mtucli');
  const rtr = Netns.create(t, 'mturtr');
  const srv = Netns.create(t, 'mtusrv');
  cli.ip('link', 'add', 'c0', 'type', 'veth', 'peer', 'name', 'r0', 'netns', rtr.name);
  srv.ip('link', 'add', 's0', 'type', 'veth', 'peer', 'name', 'r1', 'netns', rtr.name);
  cli.ip('addr', 'add', '10.201.1.1/24', 'dev', 'c0');
  rtr.ip('addr', 'add', '10.201.1.2/24', 'dev', 'r0');
  rtr.ip('addr', 'add', '10.201.2.1/24', 'dev', 'r1');
  srv.ip('addr', 'add', '10.201.2.2/24', 'dev', 's0');
  rtr.ip('link', 'set', 'r1', 'mtu', '1400');
  for (const [ns, dev] of [[cli, 'c0'], [rtr, 'r0'], [rtr, 'r1'], [srv, 's0']] as const) ns.ip('link', 'set', dev, 'up');
  cli.ip('route', 'add', 'default', 'via', '10.201.1.2');
  srv.ip('route', 'add', 'default', 'via', '10.201.2.1');
  rtr.sysctl('net.ipv4.ip_forward', '1');
  // The router's "fragmentation needed" never leaves it.
  rtr.nft('table inet pmtu {\n chain output {\n  type filter hook output priority 0;\n  icmp type destination-unreachable drop\n }\n}\n');

  const server = await actor(t, ['serve', '9000', '--tick', '200'], srv);
  await server.waitFor(/^ready 9000/m);
  const client = await actor(t, ['write', '10.201.2.2', '9000', '300000', '--hello', '100'], cli);
  await client.waitFor(/^ready/m);
  // Let the retransmission timer back off a few times (200 ms, then doubling).
  await sleep(1500);
  const { report } = await (diagnose(['--duration', '3s'], cli).done);

  const f = finding(report, 'mtu-blackhole');
  assert.equal(f.severity, 'warning');
  assert.equal(f.subject, '10.201.2.2');
  assert.deepEqual(f.evidence.process, { pid: client.pid, process: client.comm });
  assert.equal(f.evidence.mss, 1448, 'full-size segments for a 1500-byte MTU with timestamps');
  assert.equal(f.evidence.pmtu, 1500, 'the kernel never learnt the smaller MTU');
  assert.equal(f.evidence.pathAlive, true, 'the server\'s small ticks still arrive');
  assert.equal(f.evidence.icmpUnreachableInWindow, 0);
  assert.ok((f.evidence.consecutiveRtos as number) >= 2);
  assert.equal(finding(report, 'sysctl-tcp_mtu_probing').evidence.tcpMtuProbing, '0');
  assert.ok(f.advice.some((a) => a.command === 'sysctl -w net.ipv4.tcp_mtu_probing=1' && a.current === '0' && a.suggested === '1'));
});
