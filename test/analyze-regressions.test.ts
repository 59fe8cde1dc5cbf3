/**
 * One regression test per analyze bug a user hit, each named after the bug.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, runCli } from './helpers/cli.js';
import { buildIpTcp, synOptions } from './helpers/craft.js';
import type { SegmentSpec } from './helpers/craft.js';
import { assertAgreesWithTshark, hasTshark } from './analyze-support.js';
import { PcapWriter } from '../src/sinks/pcap/writer.js';
import { LinkType } from '../src/model/packet.js';
import { TH_ACK, TH_FIN, TH_PUSH, TH_SYN } from '../src/analysis/pcap/decode.js';
import { analyzeCaptureFile } from '../src/sessions/capture-file.js';

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'pcap');
const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-regress-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/** A raw-IP capture of the given packets, 1 ms apart (or at `us` when given). */
function capture(name: string, packets: Array<Buffer | { ip: Buffer; us: number }>): string {
  const file = join(dir, name);
  const w = new PcapWriter(file, { linkType: LinkType.RAW, nanosecond: true });
  packets.forEach((p, i) => {
    const ip = Buffer.isBuffer(p) ? p : p.ip;
    const us = Buffer.isBuffer(p) ? (i + 1) * 1000 : p.us;
    w.write(1_700_000_000 + Math.floor(us / 1e6), (us % 1e6) * 1000, ip);
  });
  w.close();
  return file;
}

const c = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 80 };
const s = { src: '10.0.0.2', dst: '10.0.0.1', sport: 80, dport: 40000 };
const seg = (spec: Partial<SegmentSpec> & Pick<SegmentSpec, 'seq' | 'ack' | 'flags'>, from = c): Buffer => buildIpTcp({ ...from, window: 1000, ...spec });

test('two different p95 values for the same 321 RTT samples (summary 0.258 ms vs connection 1.02 ms): one percentile definition', async () => {
  // One connection, 321 data segments each acknowledged after a different delay.
  const packets: Array<{ ip: Buffer; us: number }> = [];
  let us = 0;
  packets.push({ ip: seg({ seq: 100, ack: 0, flags: TH_SYN, options: synOptions(1460, 7) }), us: (us += 100) });
  packets.push({ ip: seg({ seq: 500, ack: 101, flags: TH_SYN | TH_ACK }, s), us: (us += 100) });
  packets.push({ ip: seg({ seq: 101, ack: 501, flags: TH_ACK }), us: (us += 100) });
  const delays: number[] = [];
  for (let i = 0; i < 321; i++) {
    const delay = 100 + ((i * 7919) % 1000); // 0.1 .. 1.099 ms, scrambled
    delays.push(delay / 1000);
    packets.push({ ip: seg({ seq: 101 + i * 10, ack: 501, flags: TH_ACK | TH_PUSH, payload: 10 }), us: (us += 2000) });
    packets.push({ ip: seg({ seq: 501, ack: 111 + i * 10, flags: TH_ACK }, s), us: (us += delay) });
  }
  const report = await analyzeCaptureFile(capture('rtt.pcap', packets));
  const conn = report.connections[0]!;
  assert.equal(report.rtt.dataMs?.samples, 321);
  assert.equal(conn.rttMs?.samples, 321);
  assert.equal(report.rtt.dataMs?.p95, conn.rttMs?.p95, 'the same samples give the same p95');
  // Nearest rank: the smallest sample with at least 95% of them at or below it.
  const sorted = [...delays].sort((a, b) => a - b);
  assert.equal(conn.rttMs?.p95, Number(sorted[Math.ceil(0.95 * sorted.length) - 1]!.toFixed(3)));
});

test('a truncated pcap loses its format ("format": null, "? (no interfaces)"): it keeps it', async () => {
  const whole = readFileSync(join(FIXTURES, 'linux-sll-us-be.pcap'));
  const cut = join(dir, 'cut.pcap');
  writeFileSync(cut, whole.subarray(0, 100));
  const r = await runCli(['analyze', cut, '--json']);
  assert.equal(r.code, 1);
  const json = JSON.parse(r.stdout) as { format: string | null; linkTypes: string[] };
  assert.equal(json.format, 'pcap');
  assert.deepEqual(json.linkTypes, ['LINUX_SLL']);
  const text = await runCli(['analyze', cut]);
  assert.match(text.stdout, /^.*cut\.pcap: pcap \(LINUX_SLL\), \d+ packets/);
  assert.doesNotMatch(text.stdout, /no interfaces|\?/);
});

test('a text file gets a full empty report before a duplicated error line: one clear error instead', async () => {
  const file = join(dir, 'notes.pcap');
  writeFileSync(file, 'GET / HTTP/1.1\r\nHost: example\r\n\r\n');
  for (const args of [[], ['--json']]) {
    const r = await runCli(['analyze', file, ...args]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '', 'no report');
    assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('tcpdiag:')).length, 1);
    assert.match(r.stderr, /not a pcap or pcapng file \(magic 0x47455420\).*\[TCPDIAG_MALFORMED_INPUT\]/);
    assert.match(r.stderr, /hint: is this a capture file\?/);
  }
});

test('every error prints its byte offset twice: once', async () => {
  const whole = readFileSync(join(FIXTURES, 'ethernet-vlan-us-le.pcap'));
  const cut = join(dir, 'cut2.pcap');
  writeFileSync(cut, whole.subarray(0, whole.length - 10));
  const r = await runCli(['analyze', cut]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.match(/at byte \d+/g)?.length, 1, r.stderr);
  assert.equal(`${r.stdout}${r.stderr}`.match(/truncated/g)?.length, 1, 'the damage is told once');
  const json = await runCli(['analyze', cut, '--json']);
  const error = (JSON.parse(json.stdout) as { error: { message: string; offset: number } }).error;
  assert.doesNotMatch(error.message, /at byte/, 'the offset is its own field');
  assert.ok(error.offset > 24);
});

test('tshark still reads the flags of a TCP header longer than its segment: so does tcpdiag', (t) => {
  if (!hasTshark()) return t.skip('needs tshark (scripts/setup.sh installs it)');
  const long = (spec: Parameters<typeof seg>[0], from = c): Buffer => {
    const b = seg(spec, from);
    b[20 + 12] = 0xf0; // 60-byte header claimed in a 20-byte (or 30-byte) segment
    return b;
  };
  const file = capture('long-header.pcap', [
    seg({ seq: 100, ack: 0, flags: TH_SYN }),
    seg({ seq: 500, ack: 101, flags: TH_SYN | TH_ACK }, s),
    seg({ seq: 101, ack: 501, flags: TH_ACK }),
    long({ seq: 101, ack: 501, flags: TH_ACK | TH_FIN, payload: 10 }),
    long({ seq: 9000, ack: 0, flags: TH_SYN }), // a new ISN: a new stream even so
    long({ seq: 501, ack: 101, flags: TH_ACK | 0x04 }, s),
    seg({ seq: 101, ack: 501, flags: TH_ACK | TH_PUSH, payload: 10 }),
  ]);
  return assertAgreesWithTshark(file).then(({ ours }) => {
    assert.equal(ours.summary.fin, 1);
    assert.equal(ours.summary.rst, 1);
    assert.equal(ours.summary.syn, 2);
  });
});

test('tshark follows IPv6 extension chains past 8 headers: so does tcpdiag', (t) => {
  if (!hasTshark()) return t.skip('needs tshark (scripts/setup.sh installs it)');
  /** An IPv6 segment behind `n` destination-options headers (8 bytes each: next header, length 0, PadN). */
  const chained = (spec: SegmentSpec, n: number): Buffer => {
    const plain = buildIpTcp(spec);
    const ext = Buffer.alloc(8 * n);
    for (let i = 0; i < n; i++) {
      ext[i * 8] = i === n - 1 ? 6 : 60;
      ext[i * 8 + 2] = 1; // PadN of 4 bytes
      ext[i * 8 + 3] = 4;
    }
    const out = Buffer.concat([plain.subarray(0, 40), ext, plain.subarray(40)]);
    out.writeUInt16BE(plain.length - 40 + ext.length, 4);
    out[6] = 60;
    return out;
  };
  const c6 = { src: '2001:db8::1', dst: '2001:db8::2', sport: 40000, dport: 80, window: 1000 };
  const s6 = { src: '2001:db8::2', dst: '2001:db8::1', sport: 80, dport: 40000, window: 1000 };
  const file = capture('ipv6-chain.pcap', [
    chained({ ...c6, seq: 100, ack: 0, flags: TH_SYN }, 12),
    chained({ ...s6, seq: 500, ack: 101, flags: TH_SYN | TH_ACK }, 9),
    chained({ ...c6, seq: 101, ack: 501, flags: TH_ACK | TH_PUSH, payload: 20 }, 20),
    chained({ ...c6, seq: 101, ack: 501, flags: TH_ACK | TH_PUSH, payload: 20 }, 10), // retransmitted
  ]);
  return assertAgreesWithTshark(file).then(({ ours }) => {
    assert.equal(ours.tcpPackets, 4);
    assert.equal(ours.summary.retransmissions, 1);
  });
});

test('tshark counts retransmissions of segments with data offset 0 the way tcpdiag does, frame by frame', (t) => {
  if (!hasTshark()) return t.skip('needs tshark (scripts/setup.sh installs it)');
  const zero = (spec: Parameters<typeof seg>[0], from = c): Buffer => {
    const b = seg(spec, from);
    b[20 + 12] = 0x00;
    return b;
  };
  // Segments with data offset 0 still move tshark's sequence state (length = IP payload), so
  // what follows them is judged against it; their own verdicts and flags are not shown.
  const file = capture('offset-zero.pcap', [
    seg({ seq: 100, ack: 0, flags: TH_SYN }),
    seg({ seq: 500, ack: 101, flags: TH_SYN | TH_ACK }, s),
    seg({ seq: 101, ack: 501, flags: TH_ACK }),
    seg({ seq: 101, ack: 501, flags: TH_ACK | TH_PUSH, payload: 100 }),
    zero({ seq: 101, ack: 501, flags: TH_ACK | TH_PUSH, payload: 100 }), // a retransmission, offset 0
    seg({ seq: 101, ack: 501, flags: TH_ACK | TH_PUSH, payload: 100 }), // again: a retransmission
    zero({ seq: 221, ack: 501, flags: TH_ACK | TH_PUSH, payload: 10 }), // beyond: moves nextseq
    seg({ seq: 231, ack: 501, flags: TH_ACK | TH_PUSH, payload: 10 }),
    seg({ seq: 501, ack: 241, flags: TH_ACK }, s),
    seg({ seq: 501, ack: 241, flags: TH_ACK }, s),
  ]);
  return assertAgreesWithTshark(file).then(({ ours }) => {
    // Frame 6 repeats data that frame 5 (offset 0, 120 bytes by tshark's reckoning) already
    // covered; frame 5's own verdict stays hidden.
    assert.ok(!(ours.frames?.retransmission ?? []).includes(5));
    assert.equal(ours.tcpPackets, 10);
  });
});

test('TCP options Wireshark throws on (a SACK shorter than a block, a 3-byte MPTCP) hide the verdicts as tshark hides them', (t) => {
  if (!hasTshark()) return t.skip('needs tshark (scripts/setup.sh installs it)');
  const variants: number[][] = [[5, 3, 0, 1], [5, 6, 0, 0, 0, 1], [5, 10, 0, 0, 0, 1, 0, 0, 0, 2], [5, 14, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3], [30, 3, 0, 1], [30, 4, 0, 0x81], [2, 3, 1, 1], [8, 9, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1]];
  const packets: Buffer[] = [];
  variants.forEach((options, i) => {
    const cl = { ...c, sport: 30000 + i };
    const sv = { ...s, dport: 30000 + i };
    packets.push(seg({ seq: 1000, ack: 0, flags: TH_SYN }, cl), seg({ seq: 5000, ack: 1001, flags: TH_SYN | TH_ACK }, sv));
    packets.push(seg({ seq: 1001, ack: 5001, flags: TH_ACK | TH_PUSH, payload: 10 }, cl));
    packets.push(seg({ seq: 1001, ack: 5001, flags: TH_ACK | TH_PUSH, payload: 10, options: Buffer.from(options) }, cl));
  });
  return assertAgreesWithTshark(capture('options.pcap', packets)).then(({ ours }) => {
    // Of the eight retransmissions, the first SACK two and the short MPTCP one show no verdict.
    assert.equal(ours.summary.retransmissions, 5);
  });
});

test('a pcapng interface of link type IPV4 or IPV6 carries that version only, as Wireshark reads it', (t) => {
  if (!hasTshark()) return t.skip('needs tshark (scripts/setup.sh installs it)');
  const file = join(dir, 'ipv6-linktype.pcap');
  const w = new PcapWriter(file, { linkType: LinkType.IPV6 });
  w.write(1_700_000_000, 0, seg({ seq: 1, ack: 0, flags: TH_SYN }));
  w.write(1_700_000_000, 1000, buildIpTcp({ src: '2001:db8::1', dst: '2001:db8::2', sport: 1, dport: 2, seq: 1, ack: 0, flags: TH_SYN, window: 1 }));
  w.close();
  return assertAgreesWithTshark(file).then(({ ours }) => assert.equal(ours.tcpPackets, 1));
});
