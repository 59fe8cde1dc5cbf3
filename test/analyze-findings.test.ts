/**
 * analyze's findings are the diagnose engine's, judged on hand-made captures whose every packet
 * is known: the ids are diagnose's, a server that never answers is an unanswered destination
 * and never loss on the path, and ICMP errors inform the rules (a firewall's REJECT, a path MTU
 * below the MSS).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';
import { buildIcmpError, buildIpTcp, synOptions } from './helpers/craft.js';
import type { SegmentSpec } from './helpers/craft.js';
import { PcapWriter } from '../src/sinks/pcap/writer.js';
import { LinkType } from '../src/model/packet.js';
import { TH_ACK, TH_PUSH, TH_SYN } from '../src/analysis/pcap/decode.js';
import { analyzeCapture } from '../src/sessions/capture-file.js';
import type { DiagnosisFinding } from '../src/model/diagnosis.js';

const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-findings-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

interface Timed {
  ip: Buffer;
  us: number;
}

/** A raw-IP capture of the packets, in time order. */
function capture(name: string, packets: Timed[]): string {
  const file = join(dir, name);
  const w = new PcapWriter(file, { linkType: LinkType.RAW, nanosecond: true });
  for (const p of [...packets].sort((a, b) => a.us - b.us)) w.write(1_700_000_000 + Math.floor(p.us / 1e6), (p.us % 1e6) * 1000, p.ip);
  w.close();
  return file;
}

type Ends = Pick<SegmentSpec, 'src' | 'dst' | 'sport' | 'dport'>;
const reverse = (e: Ends): Ends => ({ src: e.dst, dst: e.src, sport: e.dport, dport: e.sport });
const seg = (e: Ends, spec: Partial<SegmentSpec> & Pick<SegmentSpec, 'seq' | 'ack' | 'flags'>): Buffer => buildIpTcp({ ...e, window: 65000, ...spec });

/** SYNs at 0, 1 s and 3 s (Linux's 1 s initial RTO, doubling) that nobody answers. */
function unanswered(e: Ends, startUs: number): Timed[] {
  return [0, 1e6, 3e6].map((d) => ({ ip: seg(e, { seq: 1000, ack: 0, flags: TH_SYN, options: synOptions(1460, 7) }), us: startUs + d }));
}

/**
 * A connection carrying `segments` data segments of 100 bytes, each acknowledged; the segments
 * whose index is in `resent` are sent twice (a retransmission tshark flags).
 */
function transfer(e: Ends, startUs: number, segments: number, resent: ReadonlySet<number> = new Set()): Timed[] {
  const back = reverse(e);
  const out: Timed[] = [];
  let us = startUs;
  out.push({ ip: seg(e, { seq: 100, ack: 0, flags: TH_SYN, options: synOptions(1460, 7) }), us: (us += 100) });
  out.push({ ip: seg(back, { seq: 900, ack: 101, flags: TH_SYN | TH_ACK, options: synOptions(1460, 7) }), us: (us += 100) });
  out.push({ ip: seg(e, { seq: 101, ack: 901, flags: TH_ACK }), us: (us += 100) });
  for (let i = 0; i < segments; i++) {
    const data = seg(e, { seq: 101 + i * 100, ack: 901, flags: TH_ACK | TH_PUSH, payload: 100 });
    out.push({ ip: data, us: (us += 500) });
    if (resent.has(i)) out.push({ ip: data, us: (us += 300_000) });
    out.push({ ip: seg(back, { seq: 901, ack: 201 + i * 100, flags: TH_ACK }), us: (us += 200) });
  }
  return out;
}

async function analyzed(file: string): Promise<{ findings: readonly DiagnosisFinding[]; checked: ReadonlyMap<string, string> }> {
  const { report, diagnosis } = await analyzeCapture(file);
  assert.deepEqual(report.findings, diagnosis.findings, 'the report carries the engine\'s findings');
  return { findings: report.findings, checked: new Map(diagnosis.checked.map((c) => [c.id, c.status])) };
}

const adviceText = (f: DiagnosisFinding): string => f.advice.map((a) => `${a.text} ${a.command ?? ''}`).join(' ');

test('a server that never answers was a "retransmission storm" with advice to look at the path\'s loss: it is syn-sent-unanswered', async () => {
  const server = '198.51.100.7';
  const packets: Timed[] = [];
  // 30 connects to port 443 that get nothing back: 60 SYN resends toward the server.
  for (let i = 0; i < 30; i++) packets.push(...unanswered({ src: '10.1.0.5', dst: server, sport: 41000 + i, dport: 443 }, i * 50_000));
  // And a healthy transfer to the same host's port 80: 1,200 data segments, none resent. Were
  // the SYN resends counted as data retransmissions, 60 of 1,200 (5%) would read as loss.
  packets.push(...transfer({ src: '10.1.0.5', dst: server, sport: 42000, dport: 80 }, 100_000, 1200));
  const { findings, checked } = await analyzed(capture('silent-server.pcap', packets));
  assert.deepEqual(findings.map((f) => `${f.id} ${f.subject}`), [`syn-sent-unanswered ${server}:443`]);
  const f = findings[0]!;
  assert.equal(f.source, 'analyze');
  assert.equal(f.evidence.attempts, 30);
  assert.equal(f.evidence.maxSynCount, 3);
  assert.equal(f.evidence.verdict, 'filtered');
  assert.doesNotMatch(`${f.explanation} ${adviceText(f)}`, /loss on (its|the|that) path|mtr /);
  assert.equal(checked.get('retransmission-high'), 'passed', 'judged, and no data was lost');
});

test('data retransmitted toward a peer is retransmission-high, with the path to look at', async () => {
  const resent = new Set(Array.from({ length: 30 }, (_, i) => i * 40));
  const { findings } = await analyzed(capture('lossy.pcap', transfer({ src: '10.1.0.5', dst: '192.0.2.80', sport: 43000, dport: 8080 }, 0, 1200, resent)));
  assert.deepEqual(findings.map((f) => `${f.id} ${f.subject}`), ['retransmission-high 192.0.2.80']);
  const f = findings[0]!;
  assert.equal(f.evidence.retransmissions, 30);
  assert.equal(f.evidence.dataSegments, 1230, 'the resent segments are data segments too');
  assert.match(adviceText(f), /mtr -n -T 192\.0\.2\.80/);
});

test('connects rejected with ICMP administratively prohibited are a firewall\'s: syn-sent-unanswered, verdict filtered, after one SYN', async () => {
  const packets: Timed[] = [];
  const v4 = { src: '10.1.0.5', dst: '203.0.113.20', sport: 44000, dport: 5432 };
  const v6 = { src: '2001:db8:1::5', dst: '2001:db8:2::20', sport: 44001, dport: 6379 };
  const syn4 = seg(v4, { seq: 7, ack: 0, flags: TH_SYN, options: synOptions(1460, 7) });
  const syn6 = seg(v6, { seq: 7, ack: 0, flags: TH_SYN, options: synOptions(1440, 7) });
  packets.push({ ip: syn4, us: 1000 }, { ip: buildIcmpError('192.0.2.254', v4.src, 3, 10, syn4), us: 1300 });
  // ICMPv6 destination unreachable, code 1: communication administratively prohibited (RFC 4443).
  packets.push({ ip: syn6, us: 2000 }, { ip: buildIcmpError('2001:db8:ff::1', v6.src, 1, 1, syn6), us: 2300 });
  const { findings } = await analyzed(capture('prohibited.pcap', packets));
  assert.deepEqual(findings.map((f) => `${f.id} ${f.subject} ${String(f.evidence.verdict)}`).sort(), [
    'syn-sent-unanswered 203.0.113.20:5432 filtered',
    'syn-sent-unanswered [2001:db8:2::20]:6379 filtered',
  ]);
  const f4 = findings.find((f) => f.subject === '203.0.113.20:5432')!;
  assert.equal(f4.title, 'connections to 203.0.113.20:5432 rejected by a firewall: 1 ICMP error (host-prohibited) from 192.0.2.254');
  assert.equal(f4.evidence.attempts, 1);
  assert.deepEqual((f4.evidence.icmpErrors as Array<{ error: string; type: number; code: number }>).map((e) => [e.error, e.type, e.code]), [['host-prohibited', 3, 10]]);
  const f6 = findings.find((f) => f.subject.startsWith('[2001'))!;
  assert.match(f6.title, /rejected by a firewall: 1 ICMPv6 error \(administratively-prohibited\) from 2001:db8:ff::1$/);
  for (const f of findings) assert.doesNotMatch(adviceText(f), /loss|mtr /);
});

test('fragmentation needed below the MSS in use is mtu-blackhole; one the MSS fits is no finding', async () => {
  const narrow = { src: '10.1.0.5', dst: '203.0.113.30', sport: 45000, dport: 443 };
  const wide = { src: '10.1.0.5', dst: '203.0.113.31', sport: 45001, dport: 443 };
  const packets: Timed[] = [...transfer(narrow, 0, 3), ...transfer(wide, 10_000, 3)];
  // A full-size segment (MSS 1460) each, answered by a router: next-hop MTU 1400 cannot hold
  // 1460 + 40 bytes; 1500 can.
  for (const [ends, mtu, us] of [[narrow, 1400, 50_000], [wide, 1500, 60_000]] as const) {
    const big = seg(ends, { seq: 401, ack: 901, flags: TH_ACK | TH_PUSH, payload: 1460 });
    packets.push({ ip: big, us }, { ip: buildIcmpError('10.1.255.1', ends.src, 3, 4, big, { mtu }), us: us + 200 });
  }
  const { findings, checked } = await analyzed(capture('frag-needed.pcap', packets));
  assert.deepEqual(findings.map((f) => `${f.id} ${f.subject}`), ['mtu-blackhole 203.0.113.30:443']);
  const f = findings[0]!;
  assert.equal(f.title, 'path MTU 1400 toward 203.0.113.30:443 is below the MSS in use (1460): full-size segments do not fit');
  assert.deepEqual([f.evidence.pathMtu, f.evidence.mss, f.evidence.maxPayloadOnPath, f.evidence.from], [1400, 1460, 1360, '10.1.255.1']);
  assert.match(adviceText(f), /maxseg size set 1360/);
  assert.equal(checked.get('mtu-blackhole'), 'fired');
});

test('analyze prints the engine\'s findings in text, and --diagnose adds the score and the rules a capture cannot judge', async () => {
  const file = capture('text.pcap', unanswered({ src: '10.1.0.5', dst: '198.51.100.9', sport: 46000, dport: 22 }, 0));
  const plain = await runCli(['analyze', file]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(plain.stdout, /syn-sent-unanswered/);
  assert.match(plain.stdout, /1 connection attempt to 198\.51\.100\.9:22 got no answer/);
  assert.doesNotMatch(plain.stdout, /diagnosis \(the rules/);
  const json = await runCli(['analyze', file, '--json', '--diagnose']);
  assert.equal(json.code, 0, json.stderr);
  const parsed = JSON.parse(json.stdout) as { findings: Array<{ id: string }>; diagnosis: { score: number; findings: Array<{ id: string }>; checked: Array<{ id: string; status: string }> } };
  assert.deepEqual(parsed.findings.map((f) => f.id), ['syn-sent-unanswered']);
  assert.deepEqual(parsed.diagnosis.findings.map((f) => f.id), ['syn-sent-unanswered']);
  assert.equal(parsed.diagnosis.score, 85);
  assert.equal(parsed.diagnosis.checked.find((c) => c.id === 'close-wait-leak')?.status, 'skipped');
});
