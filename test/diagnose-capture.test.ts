/**
 * `analyze --diagnose`: a capture's packets judged by the rules of `diagnose`, with the same ids.
 * Real captures (tcpdump on a private namespace's loopback) of a SYN flood with the SYN-ACKs
 * dropped, and of connects to a filtered port — which must read as unanswered SYNs, not as a
 * retransmission storm.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import type { TestContext } from 'node:test';
import { Netns, actor, rootSkipReason, sleep, startProcess } from './diagnose-support.js';
import { CLI, REPO_ROOT } from './helpers/cli.js';
import type { DiagnosisReport } from '../src/model/diagnosis.js';

const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-capture-diagnose-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

async function capture(t: TestContext, ns: Netns, file: string, filter: string[], device = 'lo'): Promise<{ stop: () => Promise<void> }> {
  // -c bounds the capture whatever happens; -U writes each packet as it comes, and
  // --immediate-mode hands it over at once: otherwise libpcap's TPACKET_V3 ring holds packets in
  // a block until it fills or its timeout passes (1 s for tcpdump), and a capture stopped sooner
  // after a burst of a few packets loses them.
  const dump = await startProcess(t, ['tcpdump', '-i', device, '-U', '--immediate-mode', '-n', '-c', '5000', '-w', file, ...filter], ns);
  await dump.waitFor(new RegExp(`listening on ${device}`));
  return {
    stop: async () => {
      await sleep(300);
      dump.child.kill('SIGINT');
      if (dump.child.exitCode === null) await once(dump.child, 'close');
    },
  };
}

function analyze(file: string): { findings: DiagnosisReport['findings']; diagnosis: DiagnosisReport } {
  const r = spawnSync(process.execPath, [CLI, 'analyze', file, '--json', '--diagnose'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { findings: DiagnosisReport['findings']; diagnosis: DiagnosisReport };
}

test('a captured SYN flood: analyze --diagnose reports syn-flood from the same engine, and skips what a capture cannot show', { timeout: 90_000 }, async (t) => {
  const skip = rootSkipReason('ip', 'nft', 'hping3', 'tcpdump', 'timeout');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'capflood');
  const server = await actor(t, ['serve', '9000', '--host', '127.0.0.1'], ns);
  await server.waitFor(/^ready 9000/m);
  ns.nft('table inet flood {\n chain input {\n  type filter hook input priority 0;\n  tcp sport 9000 tcp flags & (syn|ack) == (syn|ack) drop\n }\n}\n');
  const file = join(dir, 'flood.pcap');
  const dump = await capture(t, ns, file, ['tcp', 'port', '9000']);
  // hping3 ignores -c with --flood: `timeout` bounds it.
  const flood = spawn('ip', ['netns', 'exec', ns.name, 'timeout', '0.5', 'hping3', '-S', '--flood', '-p', '9000', '127.0.0.1'], { stdio: 'ignore' });
  await once(flood, 'exit');
  await dump.stop();

  const { diagnosis } = analyze(file);
  const f = diagnosis.findings.find((x) => x.id === 'syn-flood');
  assert.ok(f, JSON.stringify(diagnosis.findings));
  assert.equal(f.severity, 'critical');
  assert.equal(f.subject, '127.0.0.1:9000');
  assert.equal(f.source, 'analyze');
  assert.equal(f.evidence.handshakesCompleted, 0);
  assert.equal(f.evidence.verdict, 'attack');
  const closeWait = diagnosis.checked.find((c) => c.id === 'close-wait-leak');
  assert.equal(closeWait?.status, 'skipped');
  assert.match(closeWait?.reason ?? '', /a capture shows packets/);
  assert.equal(diagnosis.findings.some((x) => x.id === 'syn-sent-unanswered'), false, 'the flood explains the unanswered SYNs');
});

test('captured connects to a filtered port: syn-sent-unanswered, not a retransmission storm', { timeout: 90_000 }, async (t) => {
  const skip = rootSkipReason('ip', 'nft', 'tcpdump');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'capfilter');
  ns.nft('table inet filtered {\n chain input {\n  type filter hook input priority 0;\n  tcp dport 7777 drop\n }\n}\n');
  const file = join(dir, 'filtered.pcap');
  const dump = await capture(t, ns, file, ['tcp', 'port', '7777']);
  const client = await actor(t, ['pending', '127.0.0.1', '7777', '3'], ns);
  await client.waitFor(/^ready 3/m);
  // SYN resends come after 1 s and 3 s (RFC 6298 initial RTO).
  await sleep(3500);
  await dump.stop();

  const { findings, diagnosis } = analyze(file);
  const f = diagnosis.findings.find((x) => x.id === 'syn-sent-unanswered');
  assert.ok(f, JSON.stringify(diagnosis.findings));
  assert.equal(f.subject, '127.0.0.1:7777');
  assert.equal(f.evidence.attempts, 3);
  assert.ok((f.evidence.maxSynCount as number) >= 3);
  assert.equal(diagnosis.findings.some((x) => x.id === 'retransmission-high'), false, 'SYN resends to a silent server are not data loss');
  assert.deepEqual(findings, diagnosis.findings, 'the report\'s findings are the engine\'s');
});

test('captured connects a firewall rejects with ICMP admin-prohibited: syn-sent-unanswered, verdict filtered, the ICMP counted as tshark counts it', { timeout: 90_000 }, async (t) => {
  const skip = rootSkipReason('ip', 'nft', 'tcpdump', 'tshark');
  if (skip !== null) return t.skip(skip);
  const ns = Netns.create(t, 'capreject');
  ns.nft('table inet rejecting {\n chain input {\n  type filter hook input priority 0;\n  tcp dport 7779 reject with icmp type admin-prohibited\n }\n}\n');
  const file = join(dir, 'rejected.pcap');
  const dump = await capture(t, ns, file, ['tcp', 'port', '7779', 'or', 'icmp']);
  // Each connect fails at once with EHOSTUNREACH (tcp_v4_err() aborts a SYN_SENT socket on it).
  const client = await actor(t, ['refused', '127.0.0.1', '7779', '3'], ns);
  await client.waitFor(/^done refused 0/m);
  await dump.stop();

  const tshark = spawnSync('tshark', ['-n', '-r', file, '-Y', 'icmp.type == 3 && icmp.code == 13', '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(tshark.status, 0, tshark.stderr);
  const icmpFrames = tshark.stdout.trim().split('\n').filter((l) => l !== '').length;
  assert.equal(icmpFrames, 3, 'one ICMP error per SYN');

  const r = spawnSync(process.execPath, [CLI, 'analyze', file, '--json'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { summary: { icmpErrors: number; syn: number }; findings: DiagnosisReport['findings'] };
  assert.equal(report.summary.icmpErrors, icmpFrames);
  assert.equal(report.summary.syn, 3);
  assert.deepEqual(report.findings.map((f) => `${f.id} ${f.subject} ${String(f.evidence.verdict)}`), ['syn-sent-unanswered 127.0.0.1:7779 filtered']);
  const f = report.findings[0]!;
  assert.equal(f.title, 'connections to 127.0.0.1:7779 rejected by a firewall: 3 ICMP errors (communication-prohibited) from 127.0.0.1');
  assert.equal(f.evidence.attempts, 3);
});

test('a captured MTU step (a router whose next link is 1400 bytes): mtu-blackhole from its fragmentation-needed, as tshark reads it', { timeout: 90_000 }, async (t) => {
  const skip = rootSkipReason('ip', 'tcpdump', 'tshark');
  if (skip !== null) return t.skip(skip);
  // client (1500) -- router -- [1400] -- server (1500): both ends negotiate an MSS of 1460 and
  // the router answers the first full-size segment with ICMP fragmentation needed, MTU 1400.
  const cli = Netns.create(t, 'capmtucli');
  const rtr = Netns.create(t, 'capmturtr');
  const srv = Netns.create(t, 'capmtusrv');
  cli.ip('link', 'add', 'c0', 'type', 'veth', 'peer', 'name', 'r0', 'netns', rtr.name);
  srv.ip('link', 'add', 's0', 'type', 'veth', 'peer', 'name', 'r1', 'netns', rtr.name);
  cli.ip('addr', 'add', '10.202.1.1/24', 'dev', 'c0');
  rtr.ip('addr', 'add', '10.202.1.2/24', 'dev', 'r0');
  rtr.ip('addr', 'add', '10.202.2.1/24', 'dev', 'r1');
  srv.ip('addr', 'add', '10.202.2.2/24', 'dev', 's0');
  rtr.ip('link', 'set', 'r1', 'mtu', '1400');
  for (const [ns, dev] of [[cli, 'c0'], [rtr, 'r0'], [rtr, 'r1'], [srv, 's0']] as const) ns.ip('link', 'set', dev, 'up');
  cli.ip('route', 'add', 'default', 'via', '10.202.1.2');
  srv.ip('route', 'add', 'default', 'via', '10.202.2.1');
  rtr.sysctl('net.ipv4.ip_forward', '1');

  const server = await actor(t, ['serve', '9000'], srv);
  await server.waitFor(/^ready 9000/m);
  const file = join(dir, 'mtu-step.pcap');
  const dump = await capture(t, cli, file, ['tcp', 'port', '9000', 'or', 'icmp'], 'c0');
  const client = await actor(t, ['write', '10.202.2.2', '9000', '100000', '--hello', '100'], cli);
  await client.waitFor(/^ready/m);
  await sleep(1000);
  await dump.stop();

  const tshark = spawnSync('tshark', ['-n', '-r', file, '-Y', 'icmp.type == 3 && icmp.code == 4', '-T', 'fields', '-e', 'icmp.mtu'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(tshark.status, 0, tshark.stderr);
  const mtus = tshark.stdout.trim().split('\n').filter((l) => l !== '');
  assert.ok(mtus.length >= 1, 'the router sent fragmentation needed');
  assert.deepEqual([...new Set(mtus)], ['1400']);

  const r = spawnSync(process.execPath, [CLI, 'analyze', file, '--json'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { summary: { icmpErrors: number }; findings: DiagnosisReport['findings'] };
  assert.equal(report.summary.icmpErrors, mtus.length);
  const f = report.findings.find((x) => x.id === 'mtu-blackhole');
  assert.ok(f, JSON.stringify(report.findings));
  assert.equal(f.subject, '10.202.2.2:9000');
  assert.deepEqual([f.evidence.pathMtu, f.evidence.mss, f.evidence.maxPayloadOnPath, f.evidence.from], [1400, 1460, 1360, '10.202.1.2']);
  assert.equal(report.findings.some((x) => x.id === 'retransmission-high' || x.id === 'syn-sent-unanswered'), false, JSON.stringify(report.findings));
});
