/**
 * Every file format and link type the reader supports, on hand-built fixtures
 * (test/analyze-fixtures.ts) and on tcpdump/editcap output: tcpdiag's counts must equal tshark's,
 * and the per-connection details must be what the fixtures were built to contain.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './helpers/cli.js';
import { analyzeJson, assertAgreesWithTshark, hasTshark } from './analyze-support.js';
import { buildFixtures } from './analyze-fixtures.js';
import { findExecutable } from '../src/platform/capabilities.js';

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'pcap');
const EXPECTED_FORMATS: Record<string, { format: string; linkTypes: string[] }> = {
  'ethernet-vlan-us-le.pcap': { format: 'pcap', linkTypes: ['EN10MB'] },
  'raw-ns-be.pcap': { format: 'pcap', linkTypes: ['RAW'] },
  'linux-sll-us-be.pcap': { format: 'pcap', linkTypes: ['LINUX_SLL'] },
  'linux-sll2-ns-le.pcap': { format: 'pcap', linkTypes: ['LINUX_SLL2'] },
  'bsd-null-us-le.pcap': { format: 'pcap', linkTypes: ['NULL'] },
  'bsd-loop-us-le.pcap': { format: 'pcap', linkTypes: ['LOOP'] },
  'pcapng-two-interfaces.pcapng': { format: 'pcapng', linkTypes: ['EN10MB', 'RAW'] },
  'pcapng-two-sections-mixed-endian.pcapng': { format: 'pcapng', linkTypes: ['LINUX_SLL', 'LINUX_SLL2'] },
  'pcapng-simple-blocks.pcapng': { format: 'pcapng', linkTypes: ['RAW'] },
};
/** Corner cases of the rules (test/analyze-fixtures.ts, edgeScenario), frame by frame against tshark. */
const EDGE = 'edge-cases-ns.pcap';

test('the committed fixtures are exactly what the builder makes', () => {
  const built = buildFixtures();
  assert.deepEqual([...built.keys()].sort(), readdirSync(FIXTURES).filter((f) => /\.pcap(ng)?$/.test(f)).sort());
  for (const [name, bytes] of built) assert.ok(readFileSync(join(FIXTURES, name)).equals(bytes), `${name} is stale: rerun node dist/test/analyze-fixtures.js`);
});

test(`${EDGE}: corner cases of the verdicts agree with tshark frame by frame`, async (t) => {
  if (!hasTshark()) return t.skip('needs tshark (scripts/setup.sh installs it)');
  const { ours } = await assertAgreesWithTshark(join(FIXTURES, EDGE));
  assert.equal(ours.summary.connections, 10);
});

for (const [name, expected] of Object.entries(EXPECTED_FORMATS)) {
  test(`${name}: format and link types, and every count equals tshark's`, async (t) => {
    const file = join(FIXTURES, name);
    if (!hasTshark()) {
      t.diagnostic('tshark missing: checking the format only (scripts/setup.sh installs it)');
      const { json } = await analyzeJson(file);
      assert.equal(json.format, expected.format);
      return;
    }
    const { ours } = await assertAgreesWithTshark(file);
    assert.equal(ours.format, expected.format);
    assert.deepEqual(ours.linkTypes, expected.linkTypes);
  });
}

test('the fixture conversations carry the events they were built with, in every format alike', async () => {
  const reports = await Promise.all(Object.keys(EXPECTED_FORMATS).map(async (name) => (await analyzeJson(join(FIXTURES, name))).json));
  const first = reports[0]!;
  for (const r of reports.slice(1)) assert.deepEqual(r.summary, first.summary);
  const s = first.summary;
  assert.equal(s.connections, 3);
  assert.ok((s.retransmissions ?? 0) >= 3 && (s.fastRetransmissions ?? 0) >= 1 && (s.spuriousRetransmissions ?? 0) >= 1);
  assert.ok((s.duplicateAcks ?? 0) >= 2 && (s.lostSegments ?? 0) >= 1 && (s.outOfOrder ?? 0) >= 1 && (s.keepAlives ?? 0) >= 1 && (s.zeroWindows ?? 0) >= 1);
  const [web, refused, unanswered] = first.connections;
  assert.deepEqual(web?.client, { address: '10.0.0.1', port: 40000 });
  assert.deepEqual(web?.server, { address: '10.0.0.2', port: 80 });
  assert.equal(web?.state, 'SF');
  assert.equal(web?.history, 'ShADaTwdFf');
  assert.equal(web?.handshakeRttMs, 20);
  assert.deepEqual(web?.mss, { client: 1460, server: 1400 });
  assert.deepEqual(web?.windowScale, { client: 7, server: 7 });
  assert.deepEqual(refused?.client, { address: '2001:db8::1', port: 41000 });
  assert.equal(refused?.state, 'REJ');
  assert.equal(refused?.resetBy, 'server');
  assert.equal(unanswered?.state, 'S0');
  assert.equal(unanswered?.retransmissions, 1, 'the second SYN is a retransmission');
  const pcapngSpb = reports[Object.keys(EXPECTED_FORMATS).indexOf('pcapng-simple-blocks.pcapng')]!;
  assert.equal(pcapngSpb.firstPacket, '1970-01-01T00:00:00.000000Z', 'simple packet blocks carry no timestamp');
  const ns = reports[Object.keys(EXPECTED_FORMATS).indexOf('raw-ns-be.pcap')]!;
  assert.equal(ns.firstPacket, '2023-11-14T22:13:20.000000Z');
});

test('editcap conversions of a fixture (pcapng, nanosecond pcap) agree with tshark and with the original', async (t) => {
  if (findExecutable('editcap') === null || !hasTshark()) return t.skip('needs editcap and tshark (scripts/setup.sh installs them)');
  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-editcap-'));
  try {
    const source = join(FIXTURES, 'ethernet-vlan-us-le.pcap');
    const original = (await analyzeJson(source)).json;
    for (const [format, ext] of [['pcapng', 'pcapng'], ['nsecpcap', 'pcap']] as const) {
      const out = join(dir, `converted-${format}.${ext}`);
      const r = spawnSync('editcap', ['-F', format, source, out], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const { ours } = await assertAgreesWithTshark(out);
      assert.deepEqual(ours.summary, original.summary);
      assert.deepEqual(ours.connections.map((c) => [c.state, c.history]), original.connections.map((c) => [c.state, c.history]));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
