/**
 * Without root: every refusal names the capabilities that are enough and how to grant them,
 * and they are enough. Each command runs as nobody (uid 65534), first with no capabilities,
 * then holding exactly the named ones as ambient capabilities, as a systemd unit's
 * AmbientCapabilities= line gives them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { findExecutable, hasKernelBtf, tracefsRoot } from '../src/platform/capabilities.js';
import { nobodySkip, runAsNobody } from './helpers/unprivileged.js';

const SKIP = nobodySkip();
const NO_STACK = /at .*\.js:\d+/;

interface SocketJson {
  local: { port: number };
  state: string;
  pid: number | null;
}

async function listener(): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as net.AddressInfo).port };
}

test('without root, conns works and names the capabilities that would show other users\' processes', { skip: SKIP ?? false }, async () => {
  const { server, port } = await listener();
  try {
    const plain = await runAsNobody(['conns', '--json']);
    assert.equal(plain.code, 0, plain.stderr);
    const mine = (JSON.parse(plain.stdout) as SocketJson[]).find((s) => s.local.port === port && s.state === 'LISTEN');
    assert.ok(mine, 'the socket table is read without privileges');
    assert.equal(mine.pid, null, 'root\'s process is not named');
    assert.match(plain.stderr, /process names of other users' sockets need CAP_DAC_READ_SEARCH \+ CAP_SYS_PTRACE or root .*AmbientCapabilities=CAP_DAC_READ_SEARCH CAP_SYS_PTRACE/);
    const granted = await runAsNobody(['conns', '--json'], { capabilities: ['dac_read_search', 'sys_ptrace'] });
    assert.equal(granted.code, 0, granted.stderr);
    const named = (JSON.parse(granted.stdout) as SocketJson[]).find((s) => s.local.port === port && s.state === 'LISTEN');
    assert.equal(named?.pid, process.pid, 'with both capabilities the owner is found');
  } finally {
    server.close();
  }
});

test('without root, capture names CAP_NET_RAW, the setcap line and the systemd line; CAP_NET_RAW alone is enough', { skip: SKIP ?? (findExecutable('tcpdump') === null ? 'needs tcpdump' : false) }, async () => {
  const refused = await runAsNobody(['capture', '-i', 'lo', '-n', '1']);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /packet capture \(tcpdump\) needs CAP_NET_RAW \(or root\): .*\[TCPDIAG_NEEDS_ROOT\]/);
  assert.match(refused.stderr, /hint: run it as root: sudo tcpdiag capture/);
  assert.match(refused.stderr, /sudo setcap cap_net_raw\+ep \/\S*tcpdump/);
  assert.match(refused.stderr, /AmbientCapabilities=CAP_NET_RAW/);
  assert.match(refused.stderr, /without it: tcpdiag analyze FILE/);
  assert.doesNotMatch(refused.stderr, NO_STACK);
  const granted = await runAsNobody(['capture', '-i', 'lo', '--duration', '1s', '-q', 'tcp', 'port', '9'], { capabilities: ['net_raw'] });
  assert.equal(granted.code, 0, granted.stderr);
});

test('without root, trace names CAP_DAC_OVERRIDE and the systemd line; CAP_DAC_OVERRIDE alone is enough', { skip: SKIP ?? (tracefsRoot() === null ? 'needs tracefs' : false) }, async () => {
  const refused = await runAsNobody(['trace', 'connect', '--duration', '1s']);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /tcpdiag trace \(tracefs\) needs CAP_DAC_OVERRIDE \(or root\): tracefs belongs to root .*\[TCPDIAG_NEEDS_ROOT\]/);
  assert.match(refused.stderr, /sudo tcpdiag trace/);
  assert.match(refused.stderr, /AmbientCapabilities=CAP_DAC_OVERRIDE/);
  assert.match(refused.stderr, /without it: tcpdiag conns --watch/);
  const granted = await runAsNobody(['trace', 'connect', '--duration', '1s'], { capabilities: ['dac_override'] });
  assert.equal(granted.code, 0, granted.stderr);
  assert.match(granted.stderr, /tracing connect/);
});

test('without root, trace --detail says only root will do, since bpftrace refuses other users', { skip: SKIP ?? (findExecutable('bpftrace') === null || !hasKernelBtf() ? 'needs bpftrace and BTF' : false) }, async () => {
  const refused = await runAsNobody(['trace', 'states', '--detail', '--duration', '1s'], { capabilities: ['dac_override', 'bpf', 'perfmon'] });
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /tcpdiag trace --detail \(bpftrace\) needs root: this bpftrace refuses every user but root/);
  assert.match(refused.stderr, /without it: tcpdiag trace without --detail needs only CAP_DAC_OVERRIDE/);
});

test('without root, fault names CAP_NET_ADMIN and the systemd line; CAP_NET_ADMIN alone is enough', { skip: SKIP ?? (findExecutable('nft') === null ? 'needs nft' : false) }, async () => {
  const refused = await runAsNobody(['fault', 'loss', '--port', '9', '--percent', '5', '--duration', '1s']);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /tcpdiag fault \(nftables\) needs CAP_NET_ADMIN \(or root\): nft changes the firewall \[TCPDIAG_NEEDS_ROOT\]/);
  assert.match(refused.stderr, /AmbientCapabilities=CAP_NET_ADMIN/);
  assert.match(refused.stderr, /without it: tcpdiag proxy/);
  const { server, port } = await listener();
  try {
    const granted = await runAsNobody(['fault', 'loss', '--port', String(port), '--percent', '5', '--duration', '700ms', '--json'], { capabilities: ['net_admin'] });
    assert.equal(granted.code, 0, granted.stderr);
    const lines = granted.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; table?: string; removed?: boolean });
    assert.deepEqual(lines.map((l) => l.type), ['installed', 'removed']);
    assert.equal(lines[1]?.removed, true);
    assert.notEqual(spawnSync('nft', ['list', 'table', String(lines[0]?.table).split(' ')[0] ?? 'inet', String(lines[0]?.table).split(' ')[1] ?? ''], { stdio: 'ignore' }).status, 0);
  } finally {
    server.close();
  }
});

test('without root, cleanup names what it needs', { skip: SKIP ?? false }, async () => {
  const refused = await runAsNobody(['cleanup', '--dry-run']);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /tcpdiag cleanup needs CAP_DAC_OVERRIDE \+ CAP_NET_ADMIN \+ CAP_SYS_PTRACE \+ CAP_KILL \(or root\)/);
  assert.match(refused.stderr, /sudo tcpdiag cleanup/);
});
