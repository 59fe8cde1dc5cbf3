/**
 * The rules as pure functions: facts in, findings out, with the shipped thresholds (the config
 * schema's defaults). These cover the conditions a loopback test cannot make (RTT, small windows
 * on a busy transfer, NAT idle timeouts, host-wide memory and orphan limits) and the edges of the
 * others; the end-to-end tests make the rest happen for real.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { configSchema } from '../src/config/schema.js';
import { runRules } from '../src/diagnose/engine.js';
import type { Rule, Thresholds } from '../src/diagnose/rule.js';
import { RULES } from '../src/diagnose/rules/index.js';
import type { Facts } from '../src/model/facts.js';
import type { TcpInfo } from '../src/model/tcp-info.js';
import type { TcpSocket } from '../src/model/socket.js';
import { buildReport } from '../src/diagnose/report.js';

const defaults = configSchema.parse({});
const THRESHOLDS: Thresholds = { ...defaults.thresholds, ...defaults.diagnose };

const INFO: TcpInfo = {
  rttMs: 0.05, rttvarMs: 0.02, minRttMs: 0.02, rtoMs: 200, retrans: 0, retransmits: 0, totalRetrans: 0, lost: 0, sacked: 0,
  unacked: 0, cwnd: 10, ssthresh: null, mss: 1448, rcvMss: 1448, advmss: 1448, pmtu: 1500, sndWscale: 7, rcvWscale: 7,
  bytesAcked: 1, bytesReceived: 0, bytesSent: 0, bytesRetrans: 0, segsOut: 1, segsIn: 1, deliveryRateBps: 0, pacingRateBps: null,
  lastSendMs: 100_000, lastReceiveMs: 100_000, lastAckReceiveMs: 100_000, rcvSpace: 14480, rcvSsthresh: 64076, sndWnd: 65535,
  rcvWnd: 65535, notsentBytes: 0, reordering: 3, dsackDups: 0, options: ['ts', 'sack', 'wscale'], caState: 'open',
};

let cookie = 1;
interface SockSpec {
  state?: TcpSocket['state'];
  local?: string;
  remote?: string;
  recvQ?: number;
  sendQ?: number;
  timer?: Partial<TcpSocket['timer']>;
  info?: Partial<TcpInfo> | null;
  owner?: { pid: number; process: string };
  cookie?: string;
  inode?: number;
}

function endpoint(text: string): { address: string; port: number } {
  const i = text.lastIndexOf(':');
  return { address: text.slice(0, i), port: Number(text.slice(i + 1)) };
}

function sock(spec: SockSpec): TcpSocket {
  const owners = spec.owner ? [{ ...spec.owner, fd: 3 }] : [];
  return {
    family: 4,
    state: spec.state ?? 'ESTABLISHED',
    local: endpoint(spec.local ?? '10.0.0.1:40000'),
    remote: endpoint(spec.remote ?? '10.0.0.2:80'),
    recvQ: spec.recvQ ?? 0,
    sendQ: spec.sendQ ?? 0,
    timer: { kind: 'none', expiresMs: null, retransmits: 0, ...spec.timer },
    uid: 0,
    inode: spec.inode ?? 1000,
    cookie: spec.cookie ?? String(cookie++),
    pid: spec.owner?.pid ?? null,
    process: spec.owner?.process ?? null,
    owners,
    tcpInfo: spec.info === null ? null : { ...INFO, ...spec.info },
    memory: { rmemAlloc: 0, rcvBuf: 131072, wmemAlloc: 0, sndBuf: 16384 },
    congestion: 'cubic',
  };
}

const SYSCTL: Record<string, string> = {
  'net.core.somaxconn': '4096',
  'net.ipv4.tcp_max_syn_backlog': '512',
  'net.ipv4.tcp_syncookies': '1',
  'net.ipv4.tcp_tw_reuse': '2',
  'net.ipv4.tcp_max_tw_buckets': '262144',
  'net.ipv4.tcp_fin_timeout': '60',
  'net.ipv4.tcp_max_orphans': '1000',
  'net.ipv4.ip_local_port_range': '32768 60999',
  'net.ipv4.tcp_keepalive_time': '7200',
  'net.ipv4.tcp_rmem': '4096 131072 6291456',
  'net.ipv4.tcp_mem': '1000 2000 3000',
  'net.ipv4.tcp_mtu_probing': '0',
};

interface FactsSpec {
  start?: TcpSocket[];
  end?: TcpSocket[];
  deltas?: Record<string, number>;
  gauges?: Record<string, number>;
  sysctl?: Record<string, string>;
  missing?: Facts['missing'];
}

function facts(spec: FactsSpec): Facts {
  return {
    origin: 'live',
    window: { startMs: 1_700_000_000_000, endMs: 1_700_000_010_000 },
    scope: {},
    sockets: { start: spec.start ?? [], end: spec.end ?? [] },
    counters: { intervalMs: 10_000, deltas: spec.deltas ?? {}, gauges: { SockstatOrphan: 0, SockstatMem: 10, CurrEstab: 0, ...spec.gauges } },
    sysctl: { ...SYSCTL, ...spec.sysctl },
    events: { source: 'trace', lost: 0, connects: 0, accepts: 0, connectFailures: [], retransmits: [], resets: [], icmpErrors: [] },
    processes: [],
    host: null,
    capture: null,
    missing: spec.missing ?? [],
  };
}

function only(id: string): Rule[] {
  const rule = RULES.find((r) => r.id === id);
  assert.ok(rule, id);
  return [rule];
}

function judge(id: string, spec: FactsSpec) {
  return runRules(facts(spec), THRESHOLDS, only(id), { source: 'diagnose' });
}

/** The same socket at both ends of the window (same cookie), with tcp_info changed at the end. */
function pair(spec: SockSpec, endInfo: Partial<TcpInfo>, endSpec: Partial<SockSpec> = {}): [TcpSocket, TcpSocket] {
  const id = String(cookie++);
  return [sock({ ...spec, cookie: id }), sock({ ...spec, ...endSpec, cookie: id, info: { ...spec.info, ...endInfo } })];
}

test('rtt-high: a peer whose busy connections measure 150 ms fires; 30 ms does not', () => {
  const slow = [1, 2, 3, 4].map((i) => sock({ local: `10.0.0.1:${40000 + i}`, remote: '192.0.2.7:443', info: { rttMs: 150, lastSendMs: 20, bytesAcked: 50_000 } }));
  const fired = judge('rtt-high', { end: slow });
  assert.equal(fired.findings[0]?.subject, '192.0.2.7');
  assert.equal(fired.findings[0]?.evidence.rttP50Ms, 150);
  const fast = slow.map((s) => ({ ...s, tcpInfo: { ...s.tcpInfo!, rttMs: 30 } }));
  assert.deepEqual(judge('rtt-high', { end: fast }).findings, []);
});

test('rtt-high: a jump from 10 ms to 60 ms fires as a jump; idle sockets are not judged', () => {
  const pairs = [1, 2, 3].map((i) => pair({ local: `10.0.0.1:${41000 + i}`, remote: '192.0.2.8:443', info: { rttMs: 10, lastSendMs: 20, bytesAcked: 9000 } }, { rttMs: 60 }));
  const r = judge('rtt-high', { start: pairs.map((p) => p[0]), end: pairs.map((p) => p[1]) });
  assert.equal(r.findings[0]?.evidence.jumped, true);
  assert.match(r.findings[0]?.title ?? '', /jumped from 10 ms to 60 ms/);
  const idle = pairs.map((p) => ({ ...p[1], tcpInfo: { ...p[1].tcpInfo!, lastSendMs: 60_000 } }));
  assert.deepEqual(judge('rtt-high', { start: pairs.map((p) => p[0]), end: idle }).findings, []);
});

test('small-window: a busy transfer held under 10 KB of window fires with the receiver\'s buffer settings', () => {
  const [before, after] = pair({ remote: '192.0.2.9:5001', sendQ: 200_000, info: { sndWnd: 4096, bytesAcked: 1_000_000 } }, { bytesAcked: 1_400_000 });
  const r = judge('small-window', { start: [before], end: [after] });
  assert.equal(r.findings.length, 1);
  assert.equal(r.findings[0]?.evidence.advertisedWindowMaxBytes, 4096);
  assert.equal(r.findings[0]?.evidence.tcpRmem, '4096 131072 6291456');
  // Nothing moved: a stall (zero-window's business), not a small window limiting a transfer.
  const [b2, a2] = pair({ remote: '192.0.2.9:5001', sendQ: 200_000, info: { sndWnd: 4096, bytesAcked: 1_000_000 } }, {});
  assert.deepEqual(judge('small-window', { start: [b2], end: [a2] }).findings, []);
});

test('keepalive: a remote connection idle past the NAT timeout without keepalive is an info finding; loopback is not judged', () => {
  const idle = sock({ remote: '198.51.100.4:5432', info: { lastSendMs: 400_000, lastReceiveMs: 400_000, lastAckReceiveMs: 400_000 }, owner: { pid: 77, process: 'api' } });
  const r = judge('keepalive', { end: [idle] });
  assert.equal(r.findings[0]?.severity, 'info');
  assert.equal(r.findings[0]?.evidence.withoutKeepalive, 1);
  assert.ok(r.findings[0]?.advice.some((a) => a.command === 'sysctl -w net.ipv4.tcp_keepalive_time=175'));
  const local = sock({ remote: '127.0.0.1:5432', info: { lastSendMs: 400_000, lastReceiveMs: 400_000, lastAckReceiveMs: 400_000 } });
  assert.deepEqual(judge('keepalive', { end: [local] }).findings, []);
});

test('orphan-sockets: 90% of tcp_max_orphans warns; orphans killed for memory are critical', () => {
  assert.equal(judge('orphan-sockets', { gauges: { SockstatOrphan: 900 } }).findings[0]?.severity, 'warning');
  assert.equal(judge('orphan-sockets', { gauges: { SockstatOrphan: 10 }, deltas: { TCPAbortOnMemory: 3 } }).findings[0]?.severity, 'critical');
  assert.deepEqual(judge('orphan-sockets', { gauges: { SockstatOrphan: 10 } }).findings, []);
});

test('tcp-memory-pressure: above tcp_mem pressure warns, at high it is critical', () => {
  assert.equal(judge('tcp-memory-pressure', { gauges: { SockstatMem: 2500 } }).findings[0]?.severity, 'warning');
  assert.equal(judge('tcp-memory-pressure', { gauges: { SockstatMem: 3000 } }).findings[0]?.severity, 'critical');
  assert.equal(judge('tcp-memory-pressure', { gauges: { SockstatMem: 100 } }).checked[0]?.status, 'passed');
});

test('sysctl-somaxconn: a full listener whose backlog equals somaxconn fires; one that asked for less does not', () => {
  const listener = sock({ state: 'LISTEN', local: '0.0.0.0:8080', remote: '0.0.0.0:0', recvQ: 129, sendQ: 128, owner: { pid: 9, process: 'web' } });
  const r = judge('sysctl-somaxconn', { end: [listener], sysctl: { 'net.core.somaxconn': '128' }, deltas: { ListenOverflows: 40 } });
  assert.equal(r.findings[0]?.advice[0]?.command, 'sysctl -w net.core.somaxconn=4096');
  assert.equal(r.findings[0]?.advice[0]?.current, '128');
  assert.deepEqual(judge('sysctl-somaxconn', { end: [listener], sysctl: { 'net.core.somaxconn': '4096' } }).findings, []);
});

test('sysctl-tcp_syncookies: cookies off while SYNs are dropped on a full queue is critical; on, nothing', () => {
  assert.equal(judge('sysctl-tcp_syncookies', { sysctl: { 'net.ipv4.tcp_syncookies': '0' }, deltas: { TCPReqQFullDrop: 25 } }).findings[0]?.severity, 'critical');
  assert.deepEqual(judge('sysctl-tcp_syncookies', { deltas: { TCPReqQFullDrop: 25 } }).findings, []);
});

test('time-wait-backlog and sysctl-tcp_tw_reuse: outgoing TIME_WAIT filling a narrow range toward one destination, reuse off', () => {
  const tw = Array.from({ length: 85 }, (_, i) => sock({ state: 'TIME_WAIT', local: `10.0.0.1:${50000 + i}`, remote: '10.0.0.9:3306', inode: 0, timer: { kind: 'timewait', expiresMs: 30_000 } }));
  const sysctl = { 'net.ipv4.ip_local_port_range': '50000 50099', 'net.ipv4.tcp_tw_reuse': '0' };
  const r = runRules(facts({ end: tw, sysctl }), THRESHOLDS, [...only('time-wait-backlog'), ...only('sysctl-tcp_tw_reuse'), ...only('port-exhaustion')], { source: 'diagnose' });
  const ids = r.findings.map((f) => f.id).sort();
  assert.deepEqual(ids, ['port-exhaustion', 'sysctl-tcp_tw_reuse', 'time-wait-backlog']);
  const t = r.findings.find((f) => f.id === 'time-wait-backlog')!;
  assert.equal(t.evidence.closedFirstByClient, 85);
  assert.equal(t.evidence.oldestAgeMs, 30_000, 'TCP_TIMEWAIT_LEN minus the time left');
  // With reuse on, connect() takes those ports back: no exhaustion, no reuse advice.
  const reuse = runRules(facts({ end: tw, sysctl: { ...sysctl, 'net.ipv4.tcp_tw_reuse': '1' } }), THRESHOLDS, [...only('time-wait-backlog'), ...only('sysctl-tcp_tw_reuse'), ...only('port-exhaustion')], { source: 'diagnose' });
  assert.deepEqual(reuse.findings, []);
});

test('time-wait-backlog: a server that closes first is told apart from a client', () => {
  const listener = sock({ state: 'LISTEN', local: '0.0.0.0:80', remote: '0.0.0.0:0', sendQ: 4096 });
  const tw = Array.from({ length: 20_001 }, (_, i) => sock({ state: 'TIME_WAIT', local: '10.0.0.1:80', remote: `10.1.${i >> 8}.${i & 255}:40000`, inode: 0 }));
  const r = judge('time-wait-backlog', { end: [listener, ...tw] });
  assert.equal(r.findings[0]?.evidence.closedFirstByServer, 20_001);
  assert.ok(r.findings[0]?.advice.some((a) => /This server closes first/.test(a.text)));
  assert.equal(r.findings[0]?.advice.some((a) => a.command?.includes('tcp_tw_reuse') === true), false, 'tw_reuse does nothing for a server');
});

test('every rule judges a table larger than V8 can spread into arguments (150,000 TIME_WAIT sockets, 130,000 busy small-window ones)', () => {
  // Math.min(...list) threw "Maximum call stack size exceeded" past ~120,000 items: the rule
  // showed as failed exactly when TIME_WAIT piled up.
  const tw = Array.from({ length: 150_000 }, (_, i) => sock({ state: 'TIME_WAIT', local: `10.0.${i >> 16}.1:${1024 + (i & 0xffff) % 60000}`, remote: '10.0.0.9:3306', inode: 0, timer: { kind: 'timewait', expiresMs: 20_000 + (i % 1000) } }));
  const r = runRules(facts({ end: tw }), THRESHOLDS, RULES, { source: 'diagnose' });
  assert.deepEqual(r.checked.filter((c) => c.status === 'skipped' && c.reason?.startsWith('the rule failed') === true), []);
  const t = r.findings.find((f) => f.id === 'time-wait-backlog');
  assert.equal(t?.evidence.count, 150_000);
  assert.equal(t?.evidence.oldestAgeMs, 40_000);
  const busy = Array.from({ length: 130_000 }, (_, i) => pair({ local: `10.0.${i >> 16}.1:${1024 + (i & 0xffff) % 60000}`, remote: '192.0.2.9:5001', sendQ: 200_000, info: { sndWnd: 2048 + (i % 3), bytesAcked: 1_000_000, lastSendMs: 10 } }, { bytesAcked: 1_400_000 }));
  const w = runRules(facts({ start: busy.map((p) => p[0]), end: busy.map((p) => p[1]) }), THRESHOLDS, RULES, { source: 'diagnose' });
  assert.deepEqual(w.checked.filter((c) => c.status === 'skipped' && c.reason?.startsWith('the rule failed') === true), []);
  const small = w.findings.find((f) => f.id === 'small-window');
  assert.equal(small?.evidence.advertisedWindowMaxBytes, 2050);
  assert.equal(small?.evidence.advertisedWindowMinBytes, 2048);
});

test('the engine skips a rule whose facts are missing, with the reason and the hint, and survives a rule that throws', () => {
  const missing = [{ kind: 'events' as const, reason: 'kernel events need tracefs: tcpdiag diagnose needs root', hint: 'sudo tcpdiag diagnose' }];
  const broken: Rule = { id: 'broken', summary: 'throws', needs: [], evaluate: () => { throw new Error('boom'); } };
  const r = runRules(facts({ missing }), THRESHOLDS, [...only('conn-refused'), broken], { source: 'diagnose' });
  assert.deepEqual(r.checked, [
    { id: 'conn-refused', status: 'skipped', reason: 'kernel events need tracefs: tcpdiag diagnose needs root', hint: 'sudo tcpdiag diagnose' },
    { id: 'broken', status: 'skipped', reason: 'the rule failed: boom', hint: 'this is a bug in tcpdiag; rerun with TCPDIAG_DEBUG=1 and report the output' },
  ]);
  assert.equal(r.score, 100);
});

test('the score drops by severity, and the report attaches matching log lines and the named processes', () => {
  const f = facts({ gauges: { SockstatOrphan: 900 }, deltas: { TCPAbortOnMemory: 1 } });
  const result = runRules(f, THRESHOLDS, RULES, { source: 'diagnose' });
  assert.deepEqual(result.scoreLoweredBy, [{ id: 'orphan-sockets', subject: 'host', severity: 'critical', points: 40 }]);
  assert.equal(result.score, 60);
  const report = buildReport({
    facts: { ...f, processes: [{ pid: 5, process: 'x', openFds: 1, fdLimitSoft: 10, fdLimitHard: 10, cpuPercent: 0, rssBytes: 1, threads: 1 }] },
    result,
    rules: RULES,
    logLines: [
      { origin: '/var/log/app.log', text: 'kernel: TCP: too many orphaned sockets', atMs: null },
      { origin: '/var/log/app.log', text: 'GET /health 200', atMs: null },
    ],
    logs: [],
    issues: [],
  });
  assert.deepEqual(report.findings[0]?.logLines, [{ origin: '/var/log/app.log', text: 'kernel: TCP: too many orphaned sockets', atMs: null }]);
  assert.deepEqual(report.system.processes, [], 'no finding names pid 5');
  assert.equal(report.window.start, '2023-11-14T22:13:20.000Z');
});

test('every rule has a stable, unique id and says which facts it needs', () => {
  const ids = RULES.map((r) => r.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ['time-wait-backlog', 'close-wait-leak', 'fin-wait2-lingering', 'syn-sent-unanswered', 'conn-refused', 'syn-flood', 'listen-overflow',
    'retransmission-high', 'rtt-high', 'zero-window', 'small-window', 'keepalive', 'port-exhaustion', 'fd-exhaustion', 'reset-storm',
    'slow-connection-attack', 'orphan-sockets', 'tcp-memory-pressure', 'mtu-blackhole']) assert.ok(ids.includes(id), id);
  assert.ok(ids.filter((id) => id.startsWith('sysctl-')).length >= 5);
});
