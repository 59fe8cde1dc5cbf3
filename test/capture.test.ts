/**
 * tcpdiag capture end to end as root on loopback: tcpdump engine, lines and JSON, files that
 * tshark opens, redaction that keeps lengths, stop conditions (count, duration, size), the file
 * ring, Ctrl-C/SIGTERM cleanup of the tcpdump child, and the errors a user can hit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, REPO_ROOT, runCli } from './helpers/cli.js';
import { assertAgreesWithTshark, captureSkipReason } from './analyze-support.js';

const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-capture-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

interface Running {
  child: ReturnType<typeof spawn>;
  ready: Promise<void>;
  result: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Start `tcpdiag capture ...`; `ready` resolves once tcpdump listens. */
function startCapture(args: string[]): Running {
  const child = spawn(process.execPath, [CLI, 'capture', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    if (stderr.includes('capturing on')) markReady();
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const result = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    child.on('close', (code) => {
      clearTimeout(killer);
      markReady();
      resolve({ code, stdout, stderr });
    });
  });
  return { child, ready, result };
}

async function sink(): Promise<{ server: net.Server; port: number; received: () => number }> {
  let received = 0;
  const server = net.createServer((s) => {
    s.on('data', (d: Buffer) => (received += d.length));
    s.on('end', () => s.end());
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as net.AddressInfo).port, received: () => received };
}

async function send(port: number, messages: string[], pauseMs = 5): Promise<number> {
  const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
  s.on('error', () => undefined);
  await once(s, 'connect');
  let bytes = 0;
  for (const m of messages) {
    s.write(m);
    bytes += Buffer.byteLength(m);
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  s.end();
  s.resume();
  await once(s, 'close');
  return bytes;
}

const PII = 'id=11010519491231002X tel=13812345678 mail=zhang.san@example.com card=4111111111111111 end\n';

function jsonLines(stdout: string): Array<Record<string, unknown>> {
  return stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('capture --redact writes a file tshark opens, with lengths kept and PII masked; JSON lines per packet', { timeout: 90_000 }, async (t) => {
  const skip = captureSkipReason();
  if (skip !== null) return t.skip(skip);
  const { server, port, received } = await sink();
  const file = join(dir, 'redacted.pcap');
  const run = startCapture(['--redact', '--json', '-w', file, '--duration', '4s', 'tcp', 'port', String(port)]);
  await run.ready;
  const sent = await send(port, Array<string>(20).fill(PII));
  const { code, stdout, stderr } = await run.result;
  server.close();
  assert.equal(code, 0, stderr);
  assert.equal(received(), sent);
  const lines = jsonLines(stdout);
  const summary = lines.at(-1)!;
  assert.equal(summary.type, 'summary');
  const packets = lines.filter((l) => l.type === 'packet');
  assert.equal(packets.length, summary.packets);
  assert.equal((summary.kernel as { captured: number }).captured, summary.packets, 'tcpdump counted what we saw');
  assert.equal(summary.stoppedBy, 'duration');
  assert.deepEqual(summary.redactions, { id_card: 20, phone: 20, email: 20, bank_card: 20, pattern: 0 });
  const data = packets.filter((p) => (p.payloadBytes as number) > 0);
  assert.ok(data.length >= 1 && packets.some((p) => p.flags === 'S'));

  const bytes = readFileSync(file);
  for (const secret of ['11010519491231002X', '13812345678', 'zhang.san@example.com', '4111111111111111']) {
    assert.equal(bytes.includes(secret), false, `${secret} must not reach the file`);
  }
  assert.ok(bytes.includes('id=****************** tel=*********** mail='), 'masked in place');
  // tshark opens it, sees every packet and the same TCP payload length the client sent.
  const lens = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'tcp.len'], { encoding: 'utf8' });
  assert.equal(lens.status, 0, lens.stderr);
  const tcpLens = lens.stdout.split('\n').filter((l) => l !== '').map(Number);
  assert.equal(tcpLens.length, summary.packets);
  assert.equal(tcpLens.reduce((a, b) => a + b, 0), sent, 'stream length unchanged by redaction');
  await assertAgreesWithTshark(file);
});

test('capture stops after --count packets and prints tcpdump -nn style lines with the kernel counts', { timeout: 60_000 }, async (t) => {
  const skip = captureSkipReason();
  if (skip !== null) return t.skip(skip);
  const { server, port } = await sink();
  const run = startCapture(['-i', 'lo', '-c', '5', 'tcp', 'port', String(port)]);
  await run.ready;
  await send(port, Array<string>(10).fill('hello\n'));
  const { code, stdout, stderr } = await run.result;
  server.close();
  assert.equal(code, 0, stderr);
  const lines = stdout.trim().split('\n');
  assert.equal(lines.length, 5);
  assert.match(lines[0]!, new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{6} IP 127\\.0\\.0\\.1\\.\\d+ > 127\\.0\\.0\\.1\\.${port}: Flags \\[S\\], seq \\d+, win \\d+, options \\[mss \\d+,sackOK,TS val \\d+ ecr 0,nop,wscale \\d+\\], length 0$`));
  assert.match(lines[1]!, /Flags \[S\.\], seq \d+, ack \d+/);
  assert.match(stderr, /5 packets captured, \d+ received by filter, 0 dropped by kernel \(stopped by count\)/);
});

test('a ring of files keeps the newest N, each a valid capture; --max-size stops the capture', { timeout: 90_000 }, async (t) => {
  const skip = captureSkipReason();
  if (skip !== null) return t.skip(skip);
  const { server, port } = await sink();
  const ringDir = mkdtempSync(join(dir, 'ring-'));
  const run = startCapture(['-q', '--json', '-i', 'lo', '--ring', '2', '--ring-size', '16k', '-w', join(ringDir, 'edge.pcap'), '--duration', '5s', 'tcp', 'port', String(port)]);
  await run.ready;
  await send(port, Array<string>(60).fill('x'.repeat(1000)), 2);
  const { code, stdout, stderr } = await run.result;
  assert.equal(code, 0, stderr);
  const summary = jsonLines(stdout).at(-1)!;
  const files = readdirSync(ringDir).sort();
  assert.equal(files.length, 2, `two files kept: ${files.join(', ')}`);
  assert.deepEqual((summary.files as string[]).map((f) => f.split('/').at(-1)), files);
  assert.match(files[0]!, /^edge-\d{4}\.pcap$/);
  assert.ok(Number(files[0]!.slice(5, 9)) >= 3, 'older files were rotated away');
  for (const f of files) {
    assert.ok(statSync(join(ringDir, f)).size <= 16 * 1024 + 2000);
    const r = spawnSync('tshark', ['-r', join(ringDir, f)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  }

  const sized = join(dir, 'sized.pcap');
  const run2 = startCapture(['-q', '--json', '-i', 'lo', '--max-size', '8k', '-w', sized, '--duration', '20s', 'tcp', 'port', String(port)]);
  await run2.ready;
  const started = Date.now();
  await send(port, Array<string>(40).fill('y'.repeat(1000)), 2);
  const r2 = await run2.result;
  server.close();
  assert.equal(r2.code, 0, r2.stderr);
  assert.equal(jsonLines(r2.stdout).at(-1)!.stoppedBy, 'size');
  assert.ok(Date.now() - started < 15_000, 'stopped by size, well before the 20 s duration');
  assert.ok(statSync(sized).size >= 8 * 1024);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`${signal} stops the capture cleanly: summary printed, tcpdump child gone`, { timeout: 60_000 }, async (t) => {
    const skip = captureSkipReason();
    if (skip !== null) return t.skip(skip);
    const run = startCapture(['--json', '-i', 'lo', 'tcp', 'port', '9']);
    await run.ready;
    run.child.kill(signal);
    const { code, stdout, stderr } = await run.result;
    assert.equal(code, 0, stderr);
    const summary = jsonLines(stdout).at(-1)!;
    assert.equal(summary.stoppedBy, 'signal');
    const tcpdumpPid = summary.tcpdumpPid as number;
    assert.ok(tcpdumpPid > 0);
    assert.equal(existsSync(`/proc/${tcpdumpPid}`), false, 'tcpdump exited with us');
  });
}

test('capture errors: bad filter and interface (exit 2), --ring without --write', { timeout: 60_000 }, async (t) => {
  const skip = captureSkipReason();
  if (skip !== null) return t.skip(skip);
  const filter = await runCli(['capture', '-c', '1', 'tcp', 'port']);
  assert.equal(filter.code, 2);
  assert.match(filter.stderr, /bad capture filter "tcp port".*syntax error/);
  const iface = await runCli(['capture', '-i', 'nosuchif0', '-c', '1']);
  assert.equal(iface.code, 2);
  assert.match(iface.stderr, /interface "nosuchif0"/);
  assert.match(iface.stderr, /ip -br link/);
  const ring = await runCli(['capture', '--ring', '3']);
  assert.equal(ring.code, 2);
  assert.match(ring.stderr, /--ring needs --write/);
});

test('capture on "any" (LINUX_SLL2) and --direction in: the file agrees with tshark', { timeout: 60_000 }, async (t) => {
  const skip = captureSkipReason();
  if (skip !== null) return t.skip(skip);
  const { server, port } = await sink();
  const file = join(dir, 'any-in.pcap');
  const run = startCapture(['-q', '--direction', 'in', '-w', file, '--duration', '3s', 'tcp', 'port', String(port)]);
  await run.ready;
  await send(port, Array<string>(10).fill('data\n'));
  const { code, stderr } = await run.result;
  server.close();
  assert.equal(code, 0, stderr);
  const { ours } = await assertAgreesWithTshark(file);
  assert.deepEqual(ours.linkTypes, ['LINUX_SLL2']);
  assert.ok(ours.packets > 0);
});

test('the filter flags of conns and trace become part of the BPF filter: --sport keeps what that port sends', { timeout: 60_000 }, async (t) => {
  const skip = captureSkipReason();
  if (skip !== null) return t.skip(skip);
  const { server, port } = await sink();
  const run = startCapture(['--json', '-i', 'lo', '--duration', '3s', '--sport', String(port), '--addr', '127.0.0.0/8', '--ipv4', 'tcp']);
  await run.ready;
  await send(port, ['a\n', 'b\n', 'c\n']);
  const { code, stdout, stderr } = await run.result;
  server.close();
  assert.equal(code, 0, stderr);
  const packets = jsonLines(stdout).filter((p) => p.type === 'packet') as unknown as { src: { port: number }; dst: { port: number } }[];
  // SYN-ACK, the ACKs of three writes, FIN-ACK, ACK: the server's side only.
  assert.ok(packets.length >= 5, `${packets.length} packets`);
  for (const p of packets) assert.equal(p.src.port, port);
  const badCombination = await runCli(['capture', '--state', 'established']);
  assert.equal(badCombination.code, 2);
});

test('live capture lines are what tcpdump -nn -r prints for the same packets (relative and -S)', { timeout: 60_000 }, async (t) => {
  const skip = captureSkipReason();
  if (skip !== null) return t.skip(skip);
  const { server, port } = await sink();
  for (const mode of [[], ['-S']]) {
    const file = join(dir, `lines${mode.join('')}.pcap`);
    const run = startCapture(['-i', 'lo', ...mode, '-w', file, '--duration', '2s', 'tcp', 'port', String(port)]);
    await run.ready;
    await send(port, ['GET / HTTP/1.0\r\n\r\n', 'more\n']);
    const { code, stdout, stderr } = await run.result;
    assert.equal(code, 0, stderr);
    const ours = stdout.split('\n').filter((l) => l !== '').map((l) => l.replace(/ \[[a-z, -]+\]$/, ''));
    const r = spawnSync('tcpdump', ['-nn', ...mode, '-r', file], { encoding: 'utf8' });
    const theirs = r.stdout.split('\n').filter((l) => l !== '').map((l) => l.replace(/(length \d+): .*$/, '$1'));
    assert.ok(theirs.length >= 8, `${theirs.length} packets`);
    assert.deepEqual(ours, theirs);
  }
  server.close();
});

test('capture -w writes an empty pcap when nothing matches, as tcpdump does (it wrote no file)', { timeout: 60_000 }, async (t) => {
  const skip = captureSkipReason();
  if (skip !== null) return t.skip(skip);
  const file = join(dir, 'nothing.pcap');
  const run = startCapture(['-i', 'lo', '-w', file, '--duration', '1s', 'tcp', 'port', '9']);
  await run.ready;
  const { code, stderr } = await run.result;
  assert.equal(code, 0, stderr);
  assert.ok(existsSync(file), 'the file exists');
  assert.equal(statSync(file).size, 24, 'a pcap header and no packets');
  const r = spawnSync('tcpdump', ['-nn', '-r', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /link-type EN10MB/, 'the link type of lo, as tcpdump writes it');
});

test('capture -w to an unwritable path fails before capturing with "cannot write" (it failed late with "cannot read")', { timeout: 60_000 }, async (t) => {
  const skip = captureSkipReason();
  if (skip !== null) return t.skip(skip);
  const started = Date.now();
  const r = await runCli(['capture', '-i', 'lo', '-w', join(dir, 'no-such-dir', 'x.pcap'), '--duration', '30s']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot write .*no-such-dir\/x\.pcap: .*\[TCPDIAG_FILE_UNWRITABLE\]/);
  assert.doesNotMatch(r.stderr, /cannot read|capturing on/);
  assert.ok(Date.now() - started < 10_000, 'at once, not after the capture');
});
