/**
 * Hostile input: thousands of mutated captures (truncated, bit-flipped, huge lengths, garbage)
 * through the reader and analyser must end normally or with a MalformedInputError, never a
 * crash or a hang; and the CLI must report what it read before the damage and say where.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, runCli } from './helpers/cli.js';
import { hasTshark } from './analyze-support.js';
import { fuzzCaptures } from './fuzz/captures.js';

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'pcap');

test('the capture fuzzer: thousands of mutated captures end normally or with MalformedInputError, none crashes or hangs', { timeout: 180_000 }, async () => {
  const figures = await fuzzCaptures({ iterations: 3000, seed: 0x7cd1a9 });
  assert.deepEqual(figures.samples, [], 'no crash or hang');
  assert.equal(figures.crashes, 0);
  assert.equal(figures.hangs, 0);
  assert.equal(figures.iterations, 3000);
  assert.ok(figures.malformed > 300, `many mutations are rejected (${figures.malformed})`);
  assert.ok(figures.slowestMs < 2000, `no input takes long (slowest ${figures.slowestMs} ms)`);
});

/**
 * Mutated captures that tshark reads: the verdicts, flags, streams and ICMP errors agree frame
 * by frame. Disagreements of the readers alone (kind "reader": on damaged classic pcap files
 * Wireshark guesses an old pcap variant from the first three records, whose record headers
 * differ) are counted apart and allowed.
 */
test('the capture fuzzer against tshark: mutated captures get the same verdicts frame by frame', { timeout: 300_000 }, async (t) => {
  if (!hasTshark()) return t.skip('needs tshark (scripts/setup.sh installs it)');
  const figures = await fuzzCaptures({ iterations: 150, seed: 0x5eed, tsharkEvery: 1 });
  assert.equal(figures.crashes + figures.hangs, 0, figures.samples.join('\n'));
  assert.ok(figures.tsharkCompared >= 100, `compared ${figures.tsharkCompared}`);
  const analysis = Object.entries(figures.disagreementKinds).filter(([kind]) => kind !== 'reader');
  assert.deepEqual(analysis, [], figures.samples.join('\n'));
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
