/**
 * tcpdiag conns / listeners / stats against real sockets on loopback: a child process puts
 * sockets into ESTABLISHED, FIN_WAIT2, CLOSE_WAIT, TIME_WAIT and SYN_RECV (plus an accept
 * queue), in IPv4 and IPv6, and the commands must report exactly those, with the owner.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { runCli, runCliJson, REPO_ROOT } from './helpers/cli.js';
import { NftTable, nftUsable } from './helpers/nft.js';
import { startCli } from './helpers/long-running.js';
import { readTcpCounters } from '../src/sources/procfs/counters.js';

interface ZooPorts {
  listen: number;
  neverAccepts: number;
  synrecv: number;
}
interface ZooClients {
  estClient: number;
  cwClient: number;
  twClient: number;
  queued: number[];
  halfOpen: number | null;
}
interface Zoo {
  readonly child: ChildProcessWithoutNullStreams;
  readonly pid: number;
  readonly ports: ZooPorts;
  readonly clients: ZooClients;
}

interface SocketJson {
  family: number;
  state: string;
  local: { address: string; port: number };
  remote: { address: string; port: number };
  recvQ: number;
  sendQ: number;
  inode: number;
  uid: number;
  pid: number | null;
  process: string | null;
  tcpInfo: null | { rttMs: number; retrans: number; totalRetrans: number; cwnd: number; mss: number; bytesAcked: number; bytesReceived: number };
}
interface ListenerJson {
  local: { address: string; port: number };
  pid: number | null;
  process: string | null;
  backlog: number | null;
  acceptQueue: number;
  synRecv: number;
  established: number;
}

const children: ChildProcessWithoutNullStreams[] = [];
const tables: NftTable[] = [];
after(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const t of tables) t.delete();
});

async function startZoo(family: 4 | 6, halfOpen: NftTable | null): Promise<Zoo> {
  const child = spawn('python3', [join(REPO_ROOT, 'test/fixtures/programs/socket_zoo.py'), String(family)]);
  children.push(child);
  child.stderr.on('data', (d: Buffer) => process.stderr.write(`zoo: ${d.toString()}`));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  const ports = JSON.parse(String(first.value)) as ZooPorts;
  if (halfOpen) {
    // Drop the client's final handshake ACK so the server keeps a request sock in SYN_RECV.
    halfOpen.create([`tcp dport ${ports.synrecv} tcp flags & (syn | ack) == ack drop`]);
    child.stdin.write('go\n');
  } else {
    child.stdin.write('skip\n');
  }
  const second = await lines.next();
  return { child, pid: child.pid!, ports, clients: JSON.parse(String(second.value)) as ZooClients };
}

function find(sockets: SocketJson[], state: string, localPort: number, remotePort: number): SocketJson {
  const hit = sockets.filter((s) => s.local.port === localPort && s.remote.port === remotePort);
  assert.equal(hit.length, 1, `exactly one socket ${localPort}->${remotePort}, got ${JSON.stringify(hit)}`);
  assert.equal(hit[0]!.state, state, `socket ${localPort}->${remotePort}`);
  return hit[0]!;
}

for (const family of [4, 6] as const) {
  const loopback = family === 4 ? '127.0.0.1' : '::1';

  test(`IPv${family}: conns reports every state the zoo created, with its owner and tcp_info`, async (t) => {
    const nftReason = nftUsable();
    const table = nftReason === null ? new NftTable(`conns${family}`) : null;
    if (table) tables.push(table);
    const zoo = await startZoo(family, table);
    const { ports, clients } = zoo;
    const sockets = await runCliJson<SocketJson[]>(['conns', '--json', '--port', String(ports.listen), '--port', String(ports.neverAccepts), '--port', String(ports.synrecv)]);

    for (const s of sockets) {
      assert.equal(s.family, family);
      assert.equal(s.local.address, loopback);
    }
    // The three listeners, owned by the zoo (named through PR_SET_NAME).
    for (const port of [ports.listen, ports.neverAccepts, ports.synrecv]) {
      const l = find(sockets, 'LISTEN', port, 0);
      assert.equal(l.pid, zoo.pid);
      assert.equal(l.process, 'tcpdiag-zoo');
      assert.ok(l.inode > 0);
    }
    // ESTABLISHED both ways, with tcp_info that saw the 1000 + 500 bytes.
    const estClient = find(sockets, 'ESTABLISHED', clients.estClient, ports.listen);
    const estServer = find(sockets, 'ESTABLISHED', ports.listen, clients.estClient);
    for (const s of [estClient, estServer]) {
      assert.equal(s.pid, zoo.pid);
      assert.equal(s.process, 'tcpdiag-zoo');
      assert.ok(s.tcpInfo, 'tcp_info present');
      assert.ok(s.tcpInfo.mss > 0 && s.tcpInfo.cwnd > 0 && s.tcpInfo.rttMs >= 0);
      assert.equal(s.tcpInfo.totalRetrans, 0);
    }
    assert.equal(estClient.tcpInfo!.bytesAcked, 1001); // +1 for the SYN (RFC 4898 counts it)
    assert.equal(estClient.tcpInfo!.bytesReceived, 500);
    // Half-close: FIN_WAIT2 on the client, CLOSE_WAIT on the server that never closes.
    assert.equal(find(sockets, 'FIN_WAIT2', clients.cwClient, ports.listen).pid, zoo.pid);
    assert.equal(find(sockets, 'CLOSE_WAIT', ports.listen, clients.cwClient).process, 'tcpdiag-zoo');
    // TIME_WAIT belongs to no process and has no inode.
    const tw = find(sockets, 'TIME_WAIT', clients.twClient, ports.listen);
    assert.equal(tw.pid, null);
    assert.equal(tw.inode, 0);
    assert.equal(tw.tcpInfo, null);
    // Completed but never accepted: ESTABLISHED children with no owner yet.
    for (const q of clients.queued) {
      assert.equal(find(sockets, 'ESTABLISHED', ports.neverAccepts, q).pid, null);
      assert.equal(find(sockets, 'ESTABLISHED', q, ports.neverAccepts).pid, zoo.pid);
    }
    if (table === null) {
      t.diagnostic(`SYN_RECV part skipped: ${nftReason}`);
    } else {
      assert.ok(clients.halfOpen);
      find(sockets, 'SYN_RECV', ports.synrecv, clients.halfOpen);
      find(sockets, 'ESTABLISHED', clients.halfOpen, ports.synrecv);
    }
    // The whole set and nothing else on these ports.
    const expected = 3 + 2 + 2 + 1 + 2 * clients.queued.length + (table ? 2 : 0);
    assert.equal(sockets.length, expected, JSON.stringify(sockets.map((s) => [s.state, s.local.port, s.remote.port])));

    // Filters: --state, --sport, --dport, --addr, --pid, --process.
    const cw = await runCliJson<SocketJson[]>(['conns', '--json', '--state', 'close-wait', '--sport', String(ports.listen)]);
    assert.deepEqual(cw.map((s) => s.remote.port), [clients.cwClient]);
    const toListener = await runCliJson<SocketJson[]>(['conns', '--json', '--dport', String(ports.listen), '--state', 'established', '--state', 'fin-wait-2']);
    assert.deepEqual(toListener.map((s) => s.local.port).sort(), [clients.estClient, clients.cwClient].sort());
    const byPid = await runCliJson<SocketJson[]>(['conns', '--json', '--pid', String(zoo.pid)]);
    assert.ok(byPid.length >= 9 && byPid.every((s) => s.pid === zoo.pid));
    const byName = await runCliJson<SocketJson[]>(['conns', '--json', '--process', 'tcpdiag-zoo', '--state', 'listen']);
    assert.deepEqual(byName.map((s) => s.local.port).sort(), [ports.listen, ports.neverAccepts, ports.synrecv].sort());
    const otherFamily = family === 4 ? '::1/128' : '127.0.0.0/8';
    const none = await runCliJson<SocketJson[]>(['conns', '--json', '--addr', otherFamily, '--pid', String(zoo.pid)]);
    assert.equal(none.length, 0);
    const inBlock = await runCliJson<SocketJson[]>(['conns', '--json', '--addr', family === 4 ? '127.0.0.0/8' : '::1', '--pid', String(zoo.pid)]);
    assert.equal(inBlock.length, byPid.length);

    // listeners: backlog, accept queue, half-open and established counts.
    const listeners = await runCliJson<ListenerJson[]>(['listeners', '--json', '--pid', String(zoo.pid)]);
    assert.equal(listeners.length, 3);
    const byPort = new Map(listeners.map((l) => [l.local.port, l]));
    assert.deepEqual(pick(byPort.get(ports.listen)!), { backlog: 17, acceptQueue: 0, synRecv: 0, established: 1, pid: zoo.pid, process: 'tcpdiag-zoo' });
    assert.deepEqual(pick(byPort.get(ports.neverAccepts)!), { backlog: 8, acceptQueue: 2, synRecv: 0, established: 2, pid: zoo.pid, process: 'tcpdiag-zoo' });
    assert.deepEqual(pick(byPort.get(ports.synrecv)!), { backlog: 9, acceptQueue: 0, synRecv: table ? 1 : 0, established: 0, pid: zoo.pid, process: 'tcpdiag-zoo' });

    // procfs, read independently of netlink, sees the same sockets.
    const viaProc = await runCliJson<SocketJson[]>(['conns', '--json', '--source', 'procfs', '--pid', String(zoo.pid)]);
    const key = (s: SocketJson): string => `${s.state} ${s.local.port} ${s.remote.port} ${s.pid}`;
    assert.deepEqual(viaProc.map(key).sort(), byPid.map(key).sort());

    zoo.child.stdin.end();
    table?.delete();
  });
}

test('stats counts the states of the table and reports counters, rates and sysctls', async () => {
  const first = await runCliJson<{ states: Record<string, number>; counters: Record<string, number>; retransRatio: number | null; sysctl: Record<string, string | null> }>(['stats', '--json']);
  for (const name of ['ActiveOpens', 'PassiveOpens', 'AttemptFails', 'EstabResets', 'InSegs', 'OutSegs', 'RetransSegs', 'OutRsts', 'ListenOverflows', 'ListenDrops', 'SyncookiesSent', 'TCPSynRetrans', 'TCPTimeouts', 'TCPReqQFullDrop', 'SockstatOrphan', 'SockstatTw', 'SockstatMem']) {
    assert.equal(typeof first.counters[name], 'number', name);
  }
  for (const name of ['net.core.somaxconn', 'net.ipv4.tcp_max_syn_backlog', 'net.ipv4.tcp_syncookies', 'net.ipv4.tcp_tw_reuse', 'net.ipv4.tcp_max_tw_buckets', 'net.ipv4.tcp_fin_timeout', 'net.ipv4.ip_local_port_range', 'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem', 'net.ipv4.tcp_fastopen']) {
    assert.ok(first.sysctl[name], name);
  }
  assert.equal(first.retransRatio, first.counters.RetransSegs! / first.counters.OutSegs!);
  const listening = await runCliJson<SocketJson[]>(['conns', '--json', '--state', 'listen', '--no-processes']);
  // Listeners are stable between the two commands (unlike TIME_WAIT, which comes and goes).
  assert.ok(first.states.LISTEN! >= 1 && Math.abs(first.states.LISTEN! - listening.length) <= 2);
});

test('stats --interval reports deltas that match connections made meanwhile', async () => {
  const net = await import('node:net');
  const server = net.createServer((s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const before = readTcpCounters();
  // The second interval starts at the snapshot behind the first report: connections made once
  // that line is out fall inside it, however long the process took to start.
  const stats = startCli(['stats', '--interval', '1.5', '--count', '2', '--json', '--no-sysctl']);
  await stats.waitFor(/^\{.*\}$/m, 30_000);
  for (let i = 0; i < 20; i++) {
    await new Promise<void>((resolve, reject) => {
      const c = net.connect(port, '127.0.0.1', () => c.end());
      c.on('close', () => resolve());
      c.on('error', reject);
    });
  }
  const exit = await stats.exited;
  const afterRun = readTcpCounters();
  server.close();
  assert.equal(exit.code, 0, stats.stderr());
  const lines = stats.stdout().trim().split('\n');
  assert.equal(lines.length, 2, stats.stdout());
  const report = JSON.parse(lines[1]!) as { deltas: Record<string, number>; rates: Record<string, number>; intervalMs: number };
  // At least our 20 connections, and no more than the kernel counted over the whole test
  // (which encloses tcpdiag's interval); other activity on the machine may add some.
  for (const name of ['ActiveOpens', 'PassiveOpens']) {
    const outer = afterRun[name]! - before[name]!;
    assert.ok(report.deltas[name]! >= 20 && report.deltas[name]! <= outer, `${name}: ${report.deltas[name]} (outer window ${outer})`);
  }
  // Rates are rounded to 2 decimals; intervalMs is exact to the microsecond.
  assert.ok(Math.abs(report.rates.ActiveOpens! - report.deltas.ActiveOpens! / (report.intervalMs / 1000)) <= 0.0051 + report.rates.ActiveOpens! * 1e-6);
});

test('bad flags and values exit 2 with a message that says what is allowed', async () => {
  const state = await runCli(['conns', '--state', 'open']);
  assert.equal(state.code, 2);
  assert.match(state.stderr, /"open" is not a TCP state: use one of ESTABLISHED/);
  const addr = await runCli(['conns', '--addr', '10.0.0.0/33']);
  assert.equal(addr.code, 2);
  assert.match(addr.stderr, /prefix length must be an integer 0-32/);
  const port = await runCli(['listeners', '--port', '70000']);
  assert.equal(port.code, 2);
  assert.match(port.stderr, /--port: "70000" is out of range: a TCP port is 1-65535/);
  const config = await runCli(['conns', '--config', '/nonexistent.conf']);
  assert.equal(config.code, 2);
  assert.match(config.stderr, /does not exist/);
  assert.doesNotMatch(config.stderr + state.stderr, /at .*\.js:\d+/); // no stack traces
});

function pick(l: ListenerJson): Pick<ListenerJson, 'backlog' | 'acceptQueue' | 'synRecv' | 'established' | 'pid' | 'process'> {
  return { backlog: l.backlog, acceptQueue: l.acceptQueue, synRecv: l.synRecv, established: l.established, pid: l.pid, process: l.process };
}

test('conns --watch redraws until Ctrl-C and then exits 0', async () => {
  const watch = startCli(['conns', '--watch', '0.2', '--state', 'listen', '--no-processes']);
  // Three redraws, however long the start took: a fixed sleep counted the start-up too.
  await watch.waitFor(/(sockets \(every 0\.2s, Ctrl-C to stop\)[^]*){3}/, 30_000);
  const exit = await watch.stop('SIGINT');
  assert.equal(exit.code, 0, watch.stderr());
  const stdout = watch.stdout();
  assert.match(stdout, /^STATE +RECV-Q +SEND-Q +LOCAL +REMOTE/m);
});
