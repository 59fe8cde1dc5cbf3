/**
 * Hostile input: thousands of mutated captures (truncated, bit-flipped, huge lengths, garbage)
 * through the reader and analyser must end normally or with a MalformedInputError, never a
 * crash or a hang; and the CLI must report what it read before the damage and say where.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, runCli } from './helpers/cli.js';
import { MalformedInputError } from '../src/errors.js';
import { PcapParser } from '../src/sources/pcap/reader.js';
import { TcpAnalyzer } from '../src/analysis/pcap/analyzer.js';
import { analyzeCaptureFile } from '../src/sessions/capture-file.js';
import { FRAME_FLAGS, hasTshark, tsharkCounts } from './analyze-support.js';

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'pcap');
const seeds = readdirSync(FIXTURES).filter((f) => /\.pcap(ng)?$/.test(f)).map((f) => readFileSync(join(FIXTURES, f)));

/** xorshift32: the same mutations on every run, so a failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

function mutate(input: Buffer, random: () => number): Buffer {
  const b = Buffer.from(input);
  const pick = (n: number): number => Math.floor(random() * n);
  switch (pick(5)) {
    case 0: // truncate anywhere
      return b.subarray(0, pick(b.length));
    case 1: // flip a few bits
      for (let i = 0, n = 1 + pick(8); i < n; i++) b[pick(b.length)]! ^= 1 << pick(8);
      return b;
    case 2: // a huge or odd 32-bit length somewhere (record or block length fields)
      b.writeUInt32LE([0xffffffff, 0x7fffffff, 0x10000000, 262145, 0, 1, 3][pick(7)]!, pick(b.length - 4) & ~3);
      return b;
    case 3: // overwrite a run with garbage
      for (let i = pick(b.length), n = i + 1 + pick(64); i < n && i < b.length; i++) b[i] = pick(256);
      return b;
    default: // duplicate or drop a slice
      {
        const from = pick(b.length);
        const to = Math.min(b.length, from + pick(200));
        return random() < 0.5 ? Buffer.concat([b.subarray(0, to), b.subarray(from)]) : Buffer.concat([b.subarray(0, from), b.subarray(to)]);
      }
  }
}

test('thousands of mutated captures end normally or with MalformedInputError, each quickly', { timeout: 120_000 }, () => {
  const random = rng(0x7cd1a9);
  const cases = 4000;
  const started = Date.now();
  let malformed = 0;
  let slowestMs = 0;
  for (let i = 0; i < cases; i++) {
    const input = mutate(seeds[i % seeds.length]!, random);
    const caseStarted = Date.now();
    const analyzer = new TcpAnalyzer({ maxConnections: 50 });
    const parser = new PcapParser((p) => analyzer.add(p), `case ${i}`);
    try {
      // Feed in uneven chunks, as a pipe would.
      for (let at = 0; at < input.length; ) {
        const n = 1 + Math.floor(random() * 700);
        parser.push(input.subarray(at, at + n));
        at += n;
      }
      parser.end();
    } catch (error: unknown) {
      if (!(error instanceof MalformedInputError)) {
        assert.fail(`case ${i}: ${error instanceof Error ? error.stack : String(error)}`);
      }
      assert.match(error.message, /byte \d+|empty input|too short/, `case ${i}: the error says where: ${error.message}`);
      malformed++;
    }
    const report = analyzer.finish({ file: null, format: null, linkTypes: [] });
    assert.equal(report.packets, parser.packets);
    assert.ok(JSON.stringify(report).length > 0);
    slowestMs = Math.max(slowestMs, Date.now() - caseStarted);
  }
  const totalMs = Date.now() - started;
  assert.ok(malformed > cases / 10, `many mutations are rejected (${malformed})`);
  assert.ok(slowestMs < 2000, `no input takes long (slowest ${slowestMs} ms)`);
  assert.ok(totalMs < 90_000, `${cases} inputs in ${totalMs} ms`);
});

test('a truncated file: the packets before the cut are reported, the error names the byte offset, exit 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-fuzz-'));
  try {
    const whole = readFileSync(join(FIXTURES, 'ethernet-vlan-us-le.pcap'));
    const cut = join(dir, 'cut.pcap');
    writeFileSync(cut, whole.subarray(0, whole.length - 30));
    const r = await runCli(['analyze', cut, '--json']);
    assert.equal(r.code, 1);
    const json = JSON.parse(r.stdout) as { packets: number; error: { offset: number; afterPacket: number; message: string } };
    assert.equal(json.packets, 31, 'all packets but the cut one');
    assert.equal(json.error.afterPacket, 31);
    assert.ok(json.error.offset > 0 && json.error.offset < whole.length);
    assert.match(r.stderr, /truncated.*at byte \d+/);
    assert.match(r.stderr, /TCPDIAG_MALFORMED_INPUT/);
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');

    const huge = Buffer.from(whole);
    huge.writeUInt32LE(0x7fffffff, 24 + 8); // the first record's captured length
    const hugeFile = join(dir, 'huge.pcap');
    writeFileSync(hugeFile, huge);
    const h = await runCli(['analyze', hugeFile]);
    assert.equal(h.code, 1);
    assert.match(h.stderr, /claims 2147483647 captured bytes.*at byte 24/);

    const notPcap = join(dir, 'text.pcap');
    writeFileSync(notPcap, 'hello, this is not a capture\n');
    const n = await runCli(['analyze', notPcap]);
    assert.equal(n.code, 1);
    assert.match(n.stderr, /not a pcap or pcapng file/);

    const missing = await runCli(['analyze', join(dir, 'missing.pcap')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read .*missing\.pcap: no such file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * Damaged-but-readable captures: bit flips in record headers and in the first 60 bytes of
 * frames (link, IP and TCP headers, timestamps) of two fixtures. tshark reads each file to the
 * end, so tcpdiag must give every verdict on exactly the frames tshark does, whatever the damage
 * did to lengths, ports, sequence numbers, flags, windows or time.
 */
test('bit-flipped headers: verdicts still agree with tshark frame by frame', { timeout: 180_000 }, (t) => {
  if (!hasTshark()) return t.skip('needs tshark (scripts/setup.sh installs it)');
  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-flips-'));
  try {
    const random = rng(0x5eed);
    const mismatches: string[] = [];
    let files = 0;
    for (const name of ['edge-cases-ns.pcap', 'ethernet-vlan-us-le.pcap']) {
      const src = readFileSync(join(FIXTURES, name));
      const le = src.readUInt32LE(0) === 0xa1b2c3d4 || src.readUInt32LE(0) === 0xa1b23c4d;
      const records: Array<[number, number]> = [];
      for (let pos = 24; pos < src.length; ) {
        const cap = le ? src.readUInt32LE(pos + 8) : src.readUInt32BE(pos + 8);
        records.push([pos, cap]);
        pos += 16 + cap;
      }
      for (let k = 0; k < 40; k++) {
        const b = Buffer.from(src);
        for (let j = 0; j < 4; j++) {
          const [at, cap] = records[Math.floor(random() * records.length)]!;
          // Timestamps (record header bytes 0-7) now and then, headers of the frame otherwise.
          const off = random() < 0.15 ? at + Math.floor(random() * 8) : at + 16 + Math.floor(random() * Math.min(cap, 60));
          b[off]! ^= 1 << Math.floor(random() * 8);
        }
        const file = join(dir, `${name}-${k}.pcap`);
        writeFileSync(file, b);
        files++;
        const theirs = tsharkCounts(file);
        const ours = analyzeCaptureFile(file, { frames: true });
        for (const [flag] of FRAME_FLAGS) {
          const a = (ours.frames?.[flag] ?? []).join(',');
          const z = (theirs.frames[flag] ?? []).join(',');
          if (a !== z) mismatches.push(`${name} #${k} ${flag}: tcpdiag [${a}] tshark [${z}]`);
        }
        if (ours.summary.streams !== theirs.connections) mismatches.push(`${name} #${k} streams: ${ours.summary.streams} vs ${theirs.connections}`);
      }
    }
    assert.equal(files, 80);
    assert.deepEqual(mismatches, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
