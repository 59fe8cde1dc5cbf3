/**
 * Encapsulations and ICMP errors on the hand-built fixtures (test/analyze-fixtures-tunnels.ts),
 * against tshark 4.0: the conversations of `tshark -q -z conv,tcp` by their inner 4-tuple, the
 * per-packet verdicts frame by frame, and the ICMP errors tshark dissects.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './helpers/cli.js';
import { analyzeJson, assertAgreesWithTshark, hasTshark } from './analyze-support.js';
import { TUNNELS } from './analyze-fixtures-tunnels.js';

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'pcap');
const TUNNEL_FILE = join(FIXTURES, 'tunnels-ethernet-us-le.pcap');
const ICMP_FILE = join(FIXTURES, 'icmp-errors-us-le.pcap');

/** `tshark -q -z conv,tcp`: "a:p <-> b:p  framesA bytes  framesB bytes  total bytes ..." per conversation. */
function tsharkConversations(file: string): Map<string, number> {
  const r = spawnSync('tshark', ['-n', '-q', '-z', 'conv,tcp', '-r', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = new Map<string, number>();
  for (const line of r.stdout.split('\n')) {
    const m = line.match(/^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+\d+ \w+\s+(\d+)\s+\d+ \w+\s+(\d+)/);
    if (m !== null) out.set([m[1]!, m[2]!].sort().join(' '), Number(m[5]));
  }
  return out;
}

const key = (c: { client: { address: string; port: number }; server: { address: string; port: number } }): string =>
  [`${c.client.address}:${c.client.port}`, `${c.server.address}:${c.server.port}`].sort().join(' ');

test('every tunnel kind: connections inside are analysed by their inner 4-tuple, as tshark -z conv,tcp lists them', async (t) => {
  if (!hasTshark()) return t.skip('needs tshark (scripts/setup.sh installs it)');
  const { ours } = await assertAgreesWithTshark(TUNNEL_FILE);
  const conv = tsharkConversations(TUNNEL_FILE);
  assert.equal(conv.size, TUNNELS.length);
  assert.equal(ours.connections.length, TUNNELS.length);
  for (const c of ours.connections) {
    const packets = c.packets as { client: number; server: number };
    assert.equal(conv.get(key(c)), packets.client + packets.server, `${key(c)}: frames`);
  }
});

test('each connection lists the encapsulation it came through', async () => {
  const { json } = await analyzeJson(TUNNEL_FILE);
  const expected = TUNNELS.map(([name]) => (name === 'erspan1' || name === 'erspan2' ? ['gre', name] : [name]));
  assert.deepEqual(json.connections.map((c) => c.encapsulation), expected);
  assert.deepEqual(json.connections.map((c) => c.state), TUNNELS.map(() => 'SF'));
});

test('ICMP errors quoting TCP: counted apart, not as SYNs on the wire, agreeing with tshark frame by frame', async (t) => {
  if (!hasTshark()) return t.skip('needs tshark (scripts/setup.sh installs it)');
  const { ours, theirs } = await assertAgreesWithTshark(ICMP_FILE);
  assert.equal(ours.summary.icmpErrors, 8);
  assert.equal(theirs.summary.icmpErrors, 8);
  assert.equal(ours.summary.syn, 7, 'the SYNs quoted by the errors are not counted again');
});

test('ICMP errors are attributed to the connection of the quoted 4-tuple, by type and code, and feed findings', async () => {
  const { json } = await analyzeJson(ICMP_FILE);
  const by = new Map(json.connections.map((c) => [`${c.server.address}:${c.server.port}`, c.icmpErrors]));
  assert.deepEqual(by.get('203.0.113.10:5432'), [{ type: 3, code: 13, name: 'communication-prohibited', count: 3 }]);
  assert.deepEqual(by.get('203.0.113.11:25'), [{ type: 3, code: 3, name: 'port-unreachable', count: 1 }]);
  assert.deepEqual(by.get('203.0.113.12:443'), [{ type: 3, code: 4, name: 'fragmentation-needed', nextHopMtu: 1300, count: 1 }]);
  assert.deepEqual(by.get('2001:db8:40::12:443'), [{ type: 2, code: 0, name: 'packet-too-big', nextHopMtu: 1280, count: 1 }]);
  assert.deepEqual(by.get('2001:db8:50::1:22'), [{ type: 3, code: 0, name: 'hop-limit-exceeded', count: 1 }]);
  // The rules of diagnose judge them: a firewall's REJECT (administratively prohibited, and port
  // unreachable, which Linux never sends for TCP) and a router with no way there are connects
  // that fail (syn-sent-unanswered, verdict filtered / unreachable); a next-hop MTU below the MSS
  // in use is mtu-blackhole.
  const ids = json.findings.map((f) => `${f.id} ${f.subject} ${typeof f.evidence.verdict === 'string' ? f.evidence.verdict : ''}`.trim()).sort();
  assert.deepEqual(ids, [
    'mtu-blackhole 203.0.113.12:443',
    'mtu-blackhole [2001:db8:40::12]:443',
    'syn-sent-unanswered 203.0.113.10:5432 filtered',
    'syn-sent-unanswered 203.0.113.11:25 filtered',
    'syn-sent-unanswered 203.0.113.99:80 unreachable',
    'syn-sent-unanswered [2001:db8:50::1]:22 unreachable',
  ]);
  const filtered = json.findings.find((f) => f.subject === '203.0.113.10:5432');
  assert.match(filtered?.title ?? '', /rejected by a firewall: 3 ICMP errors \(communication-prohibited\) from 192\.0\.2\.254/);
  const mtu = json.findings.find((f) => f.id === 'mtu-blackhole' && f.title.includes('1300'));
  assert.equal(mtu?.evidence.pathMtu, 1300);
  assert.equal(mtu?.evidence.mss, 1400);
  assert.equal(mtu?.evidence.maxPayloadOnPath, 1260);
  const mtu6 = json.findings.find((f) => f.id === 'mtu-blackhole' && f.subject.startsWith('[2001'));
  assert.equal(mtu6?.evidence.pathMtu, 1280);
  assert.ok(json.findings.every((f) => f.source === 'analyze'));
  assert.equal(JSON.stringify(json.findings).includes('loss on its path'), false);
  for (const f of json.findings) {
    const shaped = f as unknown as Record<string, unknown>;
    for (const field of ['id', 'severity', 'title', 'subject', 'explanation', 'evidence', 'advice', 'source', 'atMs']) assert.ok(field in shaped, `${f.id} has ${field}`);
  }
});
