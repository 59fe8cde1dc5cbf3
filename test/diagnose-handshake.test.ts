/**
 * diagnose on handshake faults reproduced for real, each in a private network namespace: a SYN
 * flood whose SYN-ACKs are dropped (hping3, bounded by `timeout`), a listener that never accepts,
 * a closed port, a filtered port, and a server that resets its connections.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import test from 'node:test';
import { Netns, actor, checked, diagnose, finding, rootSkipReason, sleep, tcpdiagProcess } from './diagnose-support.js';

test('a SYN flood with the SYN-ACKs dropped: syn-flood names the listener and its process and calls it an attack', { timeout: 90_000 }, async (t) => {
  const skip = rootSkipReason('ip', 'nft', 'hping3', 'timeout');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'synflood');
  const server = await tcpdiagProcess(t, ['server', '0', '--host', '127.0.0.1', '--backlog', '128', '--mode', 'discard'], ns);
  const port = Number((await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
  // The SYN-ACKs never reach hping3, so it sends no RST and the request socks stay half-open.
  ns.nft(`table inet flood {\n chain input {\n  type filter hook input priority 0;\n  tcp sport ${port} tcp flags & (syn|ack) == (syn|ack) drop\n }\n}\n`);
  const run = diagnose(['--duration', '3s'], ns);
  await run.started;
  // hping3 ignores -c with --flood: `timeout` bounds it to one second.
  const flood = spawn('ip', ['netns', 'exec', ns.name, 'timeout', '1', 'hping3', '-S', '--flood', '-p', String(port), '127.0.0.1'], { stdio: 'ignore' });
  await once(flood, 'exit');
  const { report } = await run.done;

  const f = finding(report, 'syn-flood');
  assert.equal(f.severity, 'critical');
  assert.equal(f.subject, `127.0.0.1:${port}`);
  assert.deepEqual(f.evidence.process, { pid: server.pid, process: server.comm });
  assert.equal(f.evidence.backlog, 128);
  assert.ok((f.evidence.synRecv as number) >= 102, `the SYN queue is at least 80% full: ${String(f.evidence.synRecv)}`);
  assert.ok((f.evidence.syncookiesSent as number) > 0, 'cookies answered the overflow');
  assert.equal(f.evidence.syncookiesRecv, 0, 'no cookie ever came back');
  assert.equal(f.evidence.handshakesCompleted, 0);
  assert.equal(f.evidence.verdict, 'attack');
  assert.deepEqual((f.evidence.topSources as Array<{ source: string }>)[0]?.source, '127.0.0.1');
  assert.ok(f.advice.some((a) => a.command?.startsWith('nft add rule inet filter input tcp dport') === true), 'a firewall rule to rate-limit SYNs');
  assert.equal(report.findings.some((x) => x.id === 'listen-overflow'), false, 'an attack is not a slow acceptor');
});

test('a listener that never accepts: listen-overflow names it, its backlog, its queue and the process', { timeout: 90_000 }, async (t) => {
  const skip = rootSkipReason('ip');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'overflow');
  const server = await tcpdiagProcess(t, ['server', '0', '--host', '127.0.0.1', '--backlog', '1', '--no-accept'], ns);
  const port = Number((await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
  const run = diagnose(['--duration', '3s'], ns);
  await run.started;
  await actor(t, ['pending', '127.0.0.1', String(port), '8'], ns);
  const { report } = await run.done;

  const f = finding(report, 'listen-overflow');
  assert.equal(f.severity, 'critical');
  assert.equal(f.subject, `127.0.0.1:${port}`);
  assert.deepEqual(f.evidence.process, { pid: server.pid, process: server.comm });
  assert.equal(f.evidence.backlog, 1);
  assert.equal(f.evidence.acceptQueue, 2, 'a full queue holds backlog + 1 (sk_acceptq_is_full)');
  assert.equal(f.evidence.full, true);
  assert.ok((f.evidence.listenOverflows as number) > 0);
  assert.equal(report.findings.some((x) => x.id === 'syn-flood'), false, 'a slow acceptor is not a flood');
});

test('a closed port: conn-refused names the destination, the count and the client process', { timeout: 90_000 }, async (t) => {
  const skip = rootSkipReason('ip');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'refused');
  const run = diagnose(['--duration', '2s'], ns);
  await run.started;
  const client = await actor(t, ['refused', '127.0.0.1', '9', '20'], ns);
  await client.waitFor(/^done refused 20/m);
  const { report } = await run.done;

  const f = finding(report, 'conn-refused');
  assert.equal(f.severity, 'warning');
  assert.equal(f.subject, '127.0.0.1:9');
  assert.equal(f.evidence.refused, 20);
  assert.deepEqual(f.evidence.processes, [{ pid: client.pid, process: client.comm }]);
  assert.equal(f.evidence.listenerOnThisHost, false);
  assert.equal(f.evidence.attemptFailsCounter, 20);
  assert.equal(checked(report, 'conn-refused').status, 'fired');
  assert.equal(report.findings.some((x) => x.id === 'reset-storm'), false, 'refused connects are not a reset storm');
});

test('a filtered port: syn-sent-unanswered names the destination and the client, no ICMP came back', { timeout: 90_000 }, async (t) => {
  const skip = rootSkipReason('ip', 'nft');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'filtered');
  ns.nft('table inet filtered {\n chain input {\n  type filter hook input priority 0;\n  tcp dport 7777 drop\n }\n}\n');
  const client = await actor(t, ['pending', '127.0.0.1', '7777', '3'], ns);
  await client.waitFor(/^ready 3/m);
  // The first SYN resend comes after 1 s, the second after 3 s (RFC 6298 initial RTO).
  const { report } = await (diagnose(['--duration', '3s'], ns).done);

  const f = finding(report, 'syn-sent-unanswered');
  assert.equal(f.subject, '127.0.0.1:7777');
  assert.equal(f.evidence.pending, 3);
  assert.ok((f.evidence.maxSynRetransmits as number) >= 2);
  assert.deepEqual(f.evidence.processes, [{ pid: client.pid, process: client.comm, sockets: 3 }]);
  assert.equal(f.evidence.verdict, 'filtered');
  assert.equal(f.evidence.icmpUnreachableInWindow, 0);
  assert.equal(report.findings.some((x) => x.id === 'retransmission-high'), false, 'SYN resends are not data loss');
});

test('a server that resets its connections: reset-storm counts them with the kernel\'s reasons', { timeout: 90_000 }, async (t) => {
  const skip = rootSkipReason('ip');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'resets');
  const server = await tcpdiagProcess(t, ['server', '0', '--host', '127.0.0.1', '--reset-after', '1', '--mode', 'discard'], ns);
  const port = Number((await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
  const run = diagnose(['--duration', '3s'], ns);
  await run.started;
  const client = await actor(t, ['connect-loop', '127.0.0.1', String(port), '60', '--rate', '100'], ns);
  await client.waitFor(/^done 60/m, 30_000);
  await sleep(200);
  const { report } = await run.done;

  const f = finding(report, 'reset-storm');
  // Both ends are in the namespace: each reset ends two established sockets.
  assert.equal(f.evidence.establishedResets, 120);
  assert.equal(f.evidence.resetEventsSent, 60, JSON.stringify(f.evidence));
  assert.equal(f.evidence.resetEventsReceived, 60);
  assert.deepEqual(f.evidence.localPorts, [{ port, count: 60 }], 'the server\'s port sent them');
  assert.equal((f.evidence.aborts as Record<string, number>).TCPAbortOnData, 60, 'closed with unread data');
  assert.ok((f.evidence.reasons as Array<{ reason: string }>).length > 0, 'the kernel says why it sent them');
});
