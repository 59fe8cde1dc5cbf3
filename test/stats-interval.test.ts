/**
 * `stats --interval` shows what moved, as nstat does (checked against nstat itself in a private
 * network namespace); `--all` shows every counter and the sysctls.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CLI } from './helpers/cli.js';

async function connections(port: number, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await new Promise<void>((resolve, reject) => {
      const c = net.connect(port, '127.0.0.1', () => c.end());
      c.on('close', () => resolve());
      c.on('error', reject);
    });
  }
}

/**
 * Two reports of `stats ARGS --interval 1s --count 2`, with `traffic` run as soon as the first
 * is printed, so it falls inside the second report's interval whatever the start-up took (the
 * traffic takes a few ms, the interval 1 s).
 */
async function reportsAround(args: readonly string[], traffic: () => Promise<void> | void): Promise<[string, string]> {
  const stats = spawn(process.execPath, [CLI, 'stats', ...args, '--interval', '1s', '--count', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  stats.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => stats.on('close', resolve));
  let started: Promise<void> = Promise.resolve();
  stats.stdout.setEncoding('utf8').on('data', (d: string) => {
    const first = !stdout.includes(STAMP);
    stdout += d;
    if (first && stdout.includes(STAMP)) started = Promise.resolve(traffic());
  });
  try {
    const code = await exited;
    await started;
    assert.equal(code, 0, stderr);
  } finally {
    stats.kill();
  }
  const frames = stdout.split(/^.*Ctrl-C to stop\)\n/m).slice(1);
  assert.equal(frames.length, 2, stdout);
  return [frames[0]!, frames[1]!];
}

const STAMP = 'Ctrl-C to stop)';

test('stats --interval lists the counters our connections moved and leaves out those that cannot move; --all lists them too', async () => {
  const server = net.createServer((s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  try {
    for (const all of [false, true]) {
      const [, report] = await reportsAround(all ? ['--all'] : [], () => connections(port, 5));
      assert.match(report, /^ActiveOpens +\d+ +[1-9]\d* +[\d.]+$/m, 'ActiveOpens moved, with its delta and rate');
      // RtoAlgorithm is a constant (Linux reports 1, "other" in RFC 1213's tcpRtoAlgorithm), so it never moves.
      if (all) {
        assert.match(report, /^RtoAlgorithm +1 +/m);
        assert.match(report, /^SYSCTL +VALUE/m);
      } else {
        assert.doesNotMatch(report, /^RtoAlgorithm/m);
        assert.doesNotMatch(report, /^SYSCTL/m, 'a live view does not reprint the sysctls');
      }
    }
  } finally {
    server.close();
  }
});

/** A loopback server and N client connections, each sending one byte, run when "go" arrives on stdin. */
const TRAFFIC = `
import socket, sys
n = int(sys.argv[1])
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(n)
print('ready', flush=True)
sys.stdin.readline()
for _ in range(n):
    c = socket.create_connection(('127.0.0.1', s.getsockname()[1])); a, _ = s.accept()
    c.sendall(b'x'); a.recv(1); c.close(); a.close()
print('done', flush=True)
`;

/** The counter table of one text report: name -> total and delta ("-" for a gauge). */
function counterRows(frame: string): Map<string, { total: number; delta: string }> {
  const lines = frame.split('\n');
  const header = lines.findIndex((l) => /^COUNTER +TOTAL +DELTA/.test(l));
  const rows = new Map<string, { total: number; delta: string }>();
  if (header < 0) return rows;
  for (const line of lines.slice(header + 1)) {
    const m = /^(\S+) +(\d+) +(\S+) +\S+$/.exec(line);
    if (m === null) break;
    rows.set(m[1]!, { total: Number(m[2]), delta: m[3]! });
  }
  return rows;
}

/** nstat's absolute values (-a: not since its history file, -s: nor updating it, -z: zeros too). */
function nstat(ns: string): Record<string, number> {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'nstat', '-asz', '--json'], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as { kernel: Record<string, number> }).kernel;
}

test('in a namespace only the test uses, stats --interval shows exactly the TCP counters nstat saw move, with the same deltas, and the TIME_WAIT gauge ss counts', { timeout: 60_000 }, async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root: creates a network namespace');
  if (spawnSync('sh', ['-c', 'command -v nstat']).status !== 0) return t.skip('needs nstat (iproute2)');
  const ns = `tcpdiag-nstat-${process.pid}`;
  if (spawnSync('ip', ['netns', 'add', ns]).status !== 0) return t.skip('cannot create a network namespace here');
  t.after(() => spawnSync('ip', ['netns', 'delete', ns]));
  assert.equal(spawnSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']).status, 0);
  const connections = 5;
  const traffic = spawn('ip', ['netns', 'exec', ns, 'python3', '-c', TRAFFIC, String(connections)], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.after(() => traffic.kill());
  const trafficLines = createInterface({ input: traffic.stdout })[Symbol.asyncIterator]();
  assert.equal((await trafficLines.next()).value, 'ready');

  const before = nstat(ns);
  const frames = await reportsAround(['-N', ns], async () => {
    traffic.stdin.write('go\n');
    assert.equal((await trafficLines.next()).value, 'done');
  });
  const after = nstat(ns);

  // sockstat's alloc, orphan and mem are host-wide (tcp_sockets_allocated, tcp_orphan_count and
  // tcp_memory_allocated are global in net/ipv4/proc.c's sockstat_seq_show), so other processes
  // move them; nothing else may move while the namespace is idle.
  const idle = counterRows(frames[0]);
  assert.deepEqual([...idle.keys()].filter((n) => !/^Sockstat(Alloc|Orphan|Mem)$/.test(n)), [], frames[0]);
  if (idle.size === 0) assert.match(frames[0], /^No counter moved in the last [\d.]+ s/m);
  const rows = counterRows(frames[1]);

  // nstat names a TCP counter by its section: Tcp (/proc/net/snmp) or TcpExt (/proc/net/netstat).
  const nstatMoved = new Map<string, number>();
  for (const [name, value] of Object.entries(after)) {
    const m = /^(?:TcpExt|Tcp)(.+)$/.exec(name);
    const delta = value - (before[name] ?? 0);
    if (m !== null && delta !== 0) nstatMoved.set(m[1]!, delta);
  }
  const shown = [...rows.keys()].filter((n) => !n.startsWith('Sockstat')).sort();
  assert.ok(rows.size > 0, frames[1]);
  assert.deepEqual(shown, [...nstatMoved.keys()].sort(), `tcpdiag:\n${frames[1]}\nnstat: ${JSON.stringify(Object.fromEntries(nstatMoved))}`);
  for (const name of shown) assert.equal(Number(rows.get(name)!.delta), nstatMoved.get(name), name);
  assert.equal(nstatMoved.get('ActiveOpens'), connections);

  // A gauge is shown when it moved, with no delta: the TIME_WAIT sockets the clients left.
  const tw = spawnSync('ip', ['netns', 'exec', ns, 'ss', '-Htan', 'state', 'time-wait'], { encoding: 'utf8' }).stdout.trim().split('\n').filter((l) => l !== '').length;
  assert.equal(tw, connections);
  assert.deepEqual(rows.get('SockstatTw'), { total: tw, delta: '-' });
});
