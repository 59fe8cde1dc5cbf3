/**
 * The diagnosis rules' own CPU on a large table, with no I/O: facts shaped like what
 * bench/diagnose.ts holds (HOLDERS processes, each a loopback listener with CONNECTIONS/HOLDERS
 * accepted connections and as many client ends, all ESTABLISHED with tcp_info and owners; the
 * same sockets at the start of the window; a few thousand TIME_WAIT), then every rule and the
 * report, ROUNDS times in one process (the first round is the cold one a `diagnose` run pays).
 * Pure code: no kernel state, no lock needed. `node --cpu-prof dist/bench/diagnose-rules.js`
 * shows where the time goes.
 *
 * Usage: node dist/bench/diagnose-rules.js [sockets=60000] [holders=4] [rounds=5]
 */
import { configSchema } from '../src/config/schema.js';
import { runRules } from '../src/diagnose/engine.js';
import { buildReport } from '../src/diagnose/report.js';
import type { Thresholds } from '../src/diagnose/rule.js';
import { RULES } from '../src/diagnose/rules/index.js';
import { FactsView } from '../src/diagnose/view.js';
import type { Facts } from '../src/model/facts.js';
import type { TcpSocket } from '../src/model/socket.js';
import type { TcpInfo } from '../src/model/tcp-info.js';

const sockets = Number(process.argv[2] ?? 60_000);
const holders = Number(process.argv[3] ?? 4);
const rounds = Number(process.argv[4] ?? 5);

const defaults = configSchema.parse({});
const THRESHOLDS: Thresholds = { ...defaults.thresholds, ...defaults.diagnose };
const OPTIONS = Object.freeze(['timestamps', 'sack', 'wscale']);

/** An idle loopback connection's tcp_info as the kernel gives it (values from a real dump of the holders). */
function info(i: number): TcpInfo {
  return {
    rttMs: 0.02 + (i % 7) / 1000, rttvarMs: 0.01, minRttMs: 0.01, rtoMs: 201, retrans: 0, retransmits: 0, totalRetrans: 0, lost: 0, sacked: 0,
    unacked: 0, cwnd: 10, ssthresh: null, mss: 32768, rcvMss: 536, advmss: 65483, pmtu: 65535, sndWscale: 7, rcvWscale: 7,
    bytesAcked: 1, bytesReceived: 0, bytesSent: 0, bytesRetrans: 0, segsOut: 2, segsIn: 1, deliveryRateBps: 0, pacingRateBps: null,
    lastSendMs: 40_000 + i % 1000, lastReceiveMs: 40_000 + i % 1000, lastAckReceiveMs: 40_000 + i % 1000, rcvSpace: 65483, rcvSsthresh: 65483, sndWnd: 65483,
    rcvWnd: 65483, notsentBytes: 0, reordering: 3, dsackDups: 0, options: OPTIONS, caState: 'open',
  };
}

let inode = 100_000;
function socket(state: TcpSocket['state'], local: [string, number], remote: [string, number], owner: { pid: number; process: string } | null, extra: Partial<TcpSocket> = {}): TcpSocket {
  const id = inode++;
  const isTw = state === 'TIME_WAIT';
  return {
    family: 4, state, local: { address: local[0], port: local[1] }, remote: { address: remote[0], port: remote[1] },
    recvQ: 0, sendQ: 0, timer: { kind: isTw ? 'timewait' : 'none', expiresMs: isTw ? 30_000 : null, retransmits: 0 }, uid: 0,
    inode: isTw ? 0 : id, cookie: String(id * 7919),
    pid: owner?.pid ?? null, process: owner?.process ?? null, owners: owner === null ? [] : [{ ...owner, fd: id % 20_000 }],
    tcpInfo: isTw ? null : info(id), memory: isTw ? null : { rmemAlloc: 0, rcvBuf: 131072, wmemAlloc: 0, sndBuf: 2626560 }, congestion: isTw ? null : 'cubic',
    ...extra,
  };
}

/** The table at one end of the window: with owners at the end, without at the start (as diagnose reads them). */
function table(withOwners: boolean): TcpSocket[] {
  inode = 100_000;
  const out: TcpSocket[] = [];
  const perHolder = Math.ceil(sockets / 2 / holders);
  let ephemeral = 32768;
  for (let h = 0; h < holders; h++) {
    const port = 40_000 + h;
    const owner = withOwners ? { pid: 5000 + h, process: 'node' } : null;
    out.push(socket('LISTEN', ['127.0.0.1', port], ['0.0.0.0', 0], owner, { sendQ: 511 }));
    for (let c = 0; c < perHolder; c++) {
      const eph = ephemeral++;
      if (ephemeral > 60999) ephemeral = 32768;
      out.push(socket('ESTABLISHED', ['127.0.0.1', port], ['127.0.0.1', eph], owner));
      out.push(socket('ESTABLISHED', ['127.0.0.1', eph], ['127.0.0.1', port], owner));
    }
  }
  for (let t = 0; t < 3000; t++) out.push(socket('TIME_WAIT', ['127.0.0.1', 20_000 + t], ['127.0.0.1', 8080], null));
  return out;
}

function facts(): Facts {
  return {
    origin: 'live',
    window: { startMs: 1_700_000_000_000, endMs: 1_700_000_005_000 },
    scope: {},
    sockets: { start: table(false), end: table(true) },
    counters: { intervalMs: 5000, deltas: { ActiveOpens: 10, PassiveOpens: 10, OutSegs: 5000, RetransSegs: 0 }, gauges: { SockstatOrphan: 0, SockstatMem: 10, SockstatTw: 3000, CurrEstab: sockets } },
    sysctl: {
      'net.core.somaxconn': '4096', 'net.ipv4.tcp_max_syn_backlog': '512', 'net.ipv4.tcp_syncookies': '1', 'net.ipv4.tcp_tw_reuse': '2',
      'net.ipv4.tcp_max_tw_buckets': '262144', 'net.ipv4.tcp_fin_timeout': '60', 'net.ipv4.tcp_max_orphans': '65536',
      'net.ipv4.ip_local_port_range': '32768 60999', 'net.ipv4.tcp_keepalive_time': '7200', 'net.ipv4.tcp_rmem': '4096 131072 6291456',
      'net.ipv4.tcp_mem': '190000 250000 380000', 'net.ipv4.tcp_mtu_probing': '0',
    },
    events: { source: 'trace', lost: 0, connects: 20, accepts: 20, connectFailures: [], retransmits: [], resets: [], icmpErrors: [] },
    processes: Array.from({ length: holders }, (_, h) => ({ pid: 5000 + h, process: 'node', openFds: sockets / holders + 20, fdLimitSoft: 20_000, fdLimitHard: 20_000, cpuPercent: 0, rssBytes: 80e6, threads: 7 })),
    host: null,
    capture: null,
    missing: [],
  };
}

const input = facts();
const n = (input.sockets?.end.length ?? 0);
// The cold round rule by rule, on one shared view as the engine runs them (a rule that builds a
// view others share pays for it here).
const view = new FactsView(input);
const perRule: string[] = [];
const cold = process.cpuUsage();
for (const rule of RULES) {
  const t = process.cpuUsage();
  rule.evaluate({ facts: input, view, thresholds: THRESHOLDS });
  const used = process.cpuUsage(t);
  perRule.push(`${rule.id} ${((used.user + used.system) / 1000).toFixed(0)}`);
}
const coldUsed = process.cpuUsage(cold);
console.log(`cold, rule by rule (ms of CPU): ${perRule.join(', ')}; total ${((coldUsed.user + coldUsed.system) / 1000).toFixed(0)} ms`);
const times: number[] = [];
let ids: string[] = [];
for (let r = 0; r < rounds; r++) {
  const t0 = process.cpuUsage();
  const result = runRules(input, THRESHOLDS, RULES, { source: 'diagnose' });
  const report = buildReport({ facts: input, result, rules: RULES, logLines: [], logs: [], issues: [] });
  JSON.stringify(report);
  const used = process.cpuUsage(t0);
  times.push((used.user + used.system) / 1000);
  ids = report.findings.map((f) => f.id);
}
console.log(`${n} sockets at each end of the window, ${RULES.length} rules: CPU per round ${times.map((t) => `${t.toFixed(0)} ms`).join(', ')} (first is cold); findings [${ids.join(', ')}]`);
