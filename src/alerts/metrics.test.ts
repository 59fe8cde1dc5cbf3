import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measure } from './metrics.js';
import type { WatchSample } from './metrics.js';
import type { TcpSocket } from '../model/socket.js';
import type { TcpState } from '../model/tcp-state.js';
import { buildAlertRules } from './rules.js';

let cookie = 0;
function sock(state: TcpState, local: string, remote: string, over: Partial<TcpSocket> = {}): TcpSocket {
  const [la, lp] = local.split(':');
  const [ra, rp] = remote.split(':');
  return {
    family: 4,
    state,
    local: { address: la!, port: Number(lp) },
    remote: { address: ra!, port: Number(rp) },
    recvQ: 0,
    sendQ: 0,
    timer: { kind: 'none', expiresMs: null, retransmits: 0 },
    uid: 0,
    inode: 0,
    cookie: String(++cookie),
    pid: null,
    process: null,
    owners: [],
    tcpInfo: null,
    memory: null,
    congestion: null,
    ...over,
  };
}

const options = { minSegments: 100, minAttempts: 10 };
const at = (ms: number, counters: Record<string, number> | null, sockets: readonly TcpSocket[] | null): WatchSample => ({ atMs: 1_000_000 + ms, monotonicMs: ms, counters, sockets, portRange: [32768, 60999] });

test('the first sample knows only gauges: every rate is unknown', () => {
  const listener = sock('LISTEN', '127.0.0.1:80', '0.0.0.0:0', { sendQ: 10 });
  const v = measure(null, at(0, { PassiveOpens: 5 }, [listener, sock('SYN_RECV', '127.0.0.1:80', '10.0.0.1:5000')]), options);
  assert.equal(v.syn_per_s?.host, null);
  assert.equal(v.new_connections_per_s?.host, null);
  assert.equal(v.syn_recv_backlog_percent?.listener?.get('127.0.0.1:80'), 10);
});

test('SYNs per second add up request socks, cookies, queue drops and completed handshakes', () => {
  const listener = sock('LISTEN', '0.0.0.0:80', '0.0.0.0:0', { sendQ: 128 });
  const old = sock('SYN_RECV', '127.0.0.1:80', '10.0.0.1:1');
  const before = at(0, { PassiveOpens: 100, SyncookiesSent: 0, SyncookiesRecv: 0, TCPReqQFullDrop: 0, ActiveOpens: 7 }, [listener, old]);
  const fresh = [1, 2, 3].map((i) => sock('SYN_RECV', '127.0.0.1:80', `10.0.0.2:${i}`));
  const after = at(2000, { PassiveOpens: 110, SyncookiesSent: 1000, SyncookiesRecv: 4, TCPReqQFullDrop: 50, ActiveOpens: 17 }, [listener, old, ...fresh]);
  const v = measure(before, after, options);
  // (110-100-4) completed + 3 new request socks + 1000 cookies + 50 drops over 2 s.
  assert.equal(v.syn_per_s?.host, (6 + 3 + 1000 + 50) / 2);
  assert.equal(v.syn_per_s?.listener?.get('0.0.0.0:80'), 1.5, 'per listener: its new request socks and children');
  assert.equal(v.new_connections_per_s?.host, (10 + 10) / 2);
});

test('a counter that went backwards makes the sample unknown, not a burst', () => {
  const v = measure(at(0, { PassiveOpens: 1000, ActiveOpens: 5 }, []), at(1000, { PassiveOpens: 3, ActiveOpens: 5 }, []), options);
  assert.equal(v.new_connections_per_s?.host, null);
  assert.equal(v.syn_per_s?.host, null);
});

test('ratios over too few segments are 0, not 100%', () => {
  const few = measure(at(0, { OutSegs: 0, RetransSegs: 0 }, []), at(1000, { OutSegs: 10, RetransSegs: 10 }, []), options);
  assert.equal(few.retrans_ratio_percent?.host, 0);
  const many = measure(at(0, { OutSegs: 0, RetransSegs: 0 }, []), at(1000, { OutSegs: 1000, RetransSegs: 20 }, []), options);
  assert.equal(many.retrans_ratio_percent?.host, 2);
});

test('ports in use per destination are a share of ip_local_port_range; CLOSE_WAIT is counted per listener', () => {
  const range = 60999 - 32768 + 1;
  const out = Array.from({ length: 50 }, (_, i) => sock('ESTABLISHED', `10.0.0.9:${40000 + i}`, '10.0.0.5:443'));
  const listener = sock('LISTEN', '10.0.0.9:8080', '0.0.0.0:0', { sendQ: 128 });
  const stuck = [1, 2, 3].map((i) => sock('CLOSE_WAIT', '10.0.0.9:8080', `10.0.0.7:${i}`));
  const v = measure(null, at(0, null, [...out, listener, ...stuck]), options);
  assert.equal(v.port_use_percent?.peer?.get('10.0.0.5:443'), (100 * 50) / range);
  assert.equal(v.close_wait?.listener?.get('10.0.0.9:8080'), 3);
  assert.equal(v.close_wait?.host, 3);
});

test('the shipped rules carry the brief\'s figures; a rule can be overridden, turned off or added', () => {
  const t = { syn_per_s: 10000, new_connections_critical_per_s: 5000, new_connections_per_s: 500, new_connections_surge_percent: 300, retrans_ratio_percent: 1, loss_percent: 5, loss_hold_s: 60, rtt_ms: 100, connect_timeout_rate_percent: 0.5, capacity_percent: 80, close_wait_max: 100 };
  const shipped = buildAlertRules(t, {});
  const names = shipped.map((r) => r.name);
  for (const name of ['syn-rate', 'new-connection-rate', 'new-connection-surge', 'retransmission-ratio', 'packet-loss', 'rtt', 'connect-failure-rate', 'port-capacity', 'listen-overflows', 'syn-recv-backlog', 'close-wait-growth']) assert.ok(names.includes(name), name);
  const loss = shipped.find((r) => r.name === 'packet-loss')!;
  assert.deepEqual([loss.threshold, loss.forMs], [5, 60_000]);
  const custom = buildAlertRules(t, { 'syn-rate': { threshold: 50, for_s: 2, severity: 'P1' }, rtt: { enabled: false }, 'listener-surge': { metric: 'new_connections_per_s', scope: 'listener', surge_percent: 200, floor: 5 } });
  const syn = custom.find((r) => r.name === 'syn-rate')!;
  assert.deepEqual([syn.threshold, syn.forMs, syn.severity], [50, 2000, 'P1']);
  assert.equal(custom.some((r) => r.name === 'rtt'), false);
  assert.deepEqual(custom.find((r) => r.name === 'listener-surge')?.baseline, { surgePercent: 200, deviations: 6, floor: 5 });
  assert.throws(() => buildAlertRules(t, { x: { threshold: 1 } }), /alerts\.rules\.x: a new rule needs a metric/);
  assert.throws(() => buildAlertRules(t, { 'syn-rate': { scope: 'peer' } }), /syn_per_s is not measured per peer/);
});
