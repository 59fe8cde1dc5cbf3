/**
 * `tcpdiag capture -r FILE` against `tcpdump -nn -r FILE`, line by line, on every fixture, with
 * relative sequence numbers (the default of both) and absolute ones (-S). What legitimately
 * differs is normalised, each for a stated reason:
 * - tcpdump names the application protocol after the length (": HTTP"): tcpdiag decodes none;
 * - tcpdiag appends Wireshark's verdicts ("[retransmission]") and, to ICMP errors, the quoted
 *   connection ("[quotes a.p > b.q]"): tcpdump has neither;
 * - on Linux cooked v2 frames tcpdump prints the interface name and direction, naming the
 *   interface from the reading host's own index table, not from the file;
 * - tcpdump (libpcap) stops at a pcapng interface of a second link type or a section of the
 *   other byte order: the lines it did print are compared;
 * - tunnels: tcpdump prints the outer headers its own way (and misdecodes some); the inner
 *   segment is compared where tcpdump decodes the tunnel.
 * The clock is local time in both; TZ=UTC keeps it fixed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, REPO_ROOT } from './helpers/cli.js';
import { findExecutable } from '../src/platform/capabilities.js';

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'pcap');
const ENV = { ...process.env, TZ: 'UTC' };
const hasTcpdump = (): boolean => findExecutable('tcpdump') !== null;

function tcpdump(file: string, extra: string[] = []): { lines: string[]; complete: boolean } {
  const r = spawnSync('tcpdump', ['-nn', ...extra, '-r', file], { encoding: 'utf8', env: ENV });
  const lines = r.stdout.split('\n').filter((l) => l !== '')
    .map((l) => l.replace(/(length \d+): (?!IP6? ).*$/, '$1').replace(/^(\S+) \S+\s+(In|Out|M|B|P) +/, '$1 '));
  return { lines, complete: r.status === 0 };
}

function ours(file: string, extra: string[] = [], input?: Buffer): { lines: string[]; code: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'capture', ...extra, '-r', file], { encoding: 'utf8', env: ENV, ...(input === undefined ? {} : { input }) });
  const lines = r.stdout.split('\n').filter((l) => l !== '').map((l) => l.replace(/ \[quotes [^\]]*\]$/, '').replace(/ \[[a-z, -]+\]$/, ''));
  return { lines, code: r.status, stderr: r.stderr };
}

const files = readdirSync(FIXTURES).filter((f) => /\.pcap(ng)?$/.test(f) && !f.startsWith('tunnels-')).sort();

for (const name of files) {
  for (const mode of [[], ['-S']]) {
    test(`capture -r ${mode.join(' ')} ${name}: the same lines as tcpdump -nn ${mode.join(' ')} -r`.replace(/ +/g, ' '), (t) => {
      if (!hasTcpdump()) return t.skip('needs tcpdump (scripts/setup.sh installs it)');
      const file = join(FIXTURES, name);
      const theirs = tcpdump(file, mode);
      const mine = ours(file, mode);
      assert.equal(mine.code, 0, mine.stderr);
      if (theirs.complete) assert.deepEqual(mine.lines, theirs.lines);
      else assert.deepEqual(mine.lines.slice(0, theirs.lines.length), theirs.lines, 'the lines tcpdump printed before it gave up');
      // pcapng-two-interfaces: libpcap refuses the second interface's link type at once.
      if (theirs.lines.length === 0) assert.equal(mine.lines.length, 32, 'tcpdiag reads what tcpdump refuses');
      else assert.ok(theirs.lines.length > 10);
    });
  }
}

test('capture -r on tunnels: the inner segment as tcpdump prints it, after the tunnel names', (t) => {
  if (!hasTcpdump()) return t.skip('needs tcpdump (scripts/setup.sh installs it)');
  const file = join(FIXTURES, 'tunnels-ethernet-us-le.pcap');
  const theirs = spawnSync('tcpdump', ['-nn', '-r', file], { encoding: 'utf8', env: ENV }).stdout.split('\n').filter((l) => /^\d\d:/.test(l));
  const mine = ours(file).lines;
  assert.equal(mine.length, 99);
  let compared = 0;
  mine.forEach((line, i) => {
    const m = line.match(/^(\S+) ([a-z0-9. ]+): (IP6? .*)$/);
    assert.ok(m !== null, `line ${i + 1} names its tunnel: ${line}`);
    const tcp = theirs[i] ?? '';
    // tcpdump decodes MPLS, PPPoE, GRE to IP, GENEVE and IP-in-IP down to the segment.
    if (['mpls', 'pppoe', 'gre', 'geneve', 'ipip', '6in4'].includes(m[2]!) && /Flags/.test(tcp)) {
      assert.ok(tcp.replace(/(length \d+): (?!IP6? ).*$/, '$1').endsWith(m[3]!), `line ${i + 1}: tcpdump "${tcp}" ends with "${m[3]}"`);
      compared++;
    }
  });
  assert.ok(compared >= 50, `compared ${compared} inner segments`);
});

test('capture -r reads stdin with -r -, stops after -c packets, refuses a filter with the tcpdump pipe to use', () => {
  const file = join(FIXTURES, 'ethernet-vlan-us-le.pcap');
  const piped = ours('-', [], readFileSync(file));
  assert.equal(piped.code, 0, piped.stderr);
  assert.deepEqual(piped.lines, ours(file).lines);
  const counted = ours(file, ['-c', '5']);
  assert.equal(counted.lines.length, 5);
  assert.match(counted.stderr, /^5 packets read/m);
  const filtered = spawnSync(process.execPath, [CLI, 'capture', '-r', file, 'port', '80'], { encoding: 'utf8' });
  assert.equal(filtered.status, 2);
  assert.match(filtered.stderr, /tcpdump -r .* -w - port 80 \| tcpdiag capture -r -/);
});

test('capture -r of a damaged file prints the packets before the damage, then one error with its offset', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-read-'));
  try {
    const whole = readFileSync(join(FIXTURES, 'ethernet-vlan-us-le.pcap'));
    const cut = join(dir, 'cut.pcap');
    writeFileSync(cut, whole.subarray(0, whole.length - 30));
    const r = ours(cut);
    assert.equal(r.code, 1);
    assert.equal(r.lines.length, 31);
    assert.equal(r.stderr.match(/at byte \d+/g)?.length, 1, r.stderr);
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'this is a text file, not a capture\n');
    const n = ours(text);
    assert.equal(n.code, 1);
    assert.deepEqual(n.lines, []);
    assert.match(n.stderr, /not a pcap or pcapng file/);
    assert.equal(n.stderr.split('\n').filter((l) => l.startsWith('tcpdiag:')).length, 1, 'one error line');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
