import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBpftraceLine, setDropReasonNames, setResetReasonNames } from './parse.js';
import { buildBpftraceScript, toPredicate, x86InterruptExpression } from './script.js';

test('a state line from bpftrace becomes a raw event with socket fields', () => {
  // Printed by the script in script.ts (bpftrace 0.17, kernel 6.18).
  const e = parseBpftraceLine('S 554099041937 1 16040 0 ffff888131619280 2 1 7 127.0.0.1 ::ffff:127.0.0.1 43013 127.0.0.1 ::ffff:127.0.0.1 50996 18 65536 65536 4050540 2129130 4050462 9 4096 0 97 wrk worker');
  assert.ok(e);
  assert.equal(e.kind, 'state');
  assert.equal(e.tsNs, 554099041937);
  assert.equal(e.oldState, 1);
  assert.equal(e.newState, 7);
  assert.equal(e.localPort, 43013);
  assert.equal(e.remoteAddress, '127.0.0.1');
  assert.equal(e.skaddr, 0x888131619280);
  assert.equal(e.comm, 'wrk worker');
  assert.deepEqual(e.detail, {
    cwnd: 18, rcvWnd: 65536, sndWnd: 65536, bytesSent: 4050540, bytesReceived: 2129130, bytesAcked: 4050462,
    ackBacklog: 9, maxAckBacklog: 4096, totalRetrans: 0, srttUs: 97,
  });
});

test('IPv6 lines use the v6 address columns; resets get their reason by name', () => {
  setResetReasonNames(new Map([[1, 'NO_SOCKET']]));
  const e = parseBpftraceLine('X 585080345241 1 17605 1 0 10 0 0 0.0.0.0 ::1 1 0.0.0.0 ::1 56362 1 curl');
  assert.ok(e);
  assert.equal(e.kind, 'send-reset');
  assert.equal(e.family, 6);
  assert.equal(e.localAddress, '::1');
  assert.equal(e.remotePort, 56362);
  assert.equal(e.reason, 'NO_SOCKET');
  assert.equal(e.inInterrupt, true);
});

test('a retransmit line carries the attempt\'s error by errno name, none when it went out', () => {
  const failed = parseBpftraceLine('R 585080345241 0 0 1 ffff888131619280 2 1 1 127.0.0.1 ::ffff:127.0.0.1 43013 127.0.0.1 ::ffff:127.0.0.1 50996 -16 1 swapper/0');
  assert.ok(failed);
  assert.equal(failed.kind, 'retransmit');
  assert.equal(failed.error, 'EBUSY');
  assert.equal(failed.comm, 'swapper/0');
  assert.equal(failed.count, 1, 'segments');
  const sent = parseBpftraceLine('R 585080345241 0 0 1 ffff888131619280 2 1 1 127.0.0.1 ::ffff:127.0.0.1 43013 127.0.0.1 ::ffff:127.0.0.1 50996 0 2 swapper/0');
  assert.equal(sent?.error, null);
  assert.equal(sent?.count, 2);
});

test('other lines (warnings, cut lines) are ignored', () => {
  assert.equal(parseBpftraceLine('Attaching 5 probes...'), null);
  assert.equal(parseBpftraceLine('S 1 2 3'), null);
});

test('filters in tracefs syntax become bpftrace predicates; anything else is refused', () => {
  assert.equal(toPredicate('protocol == 6 && (sport == 80 || dport == 80)'), ' /args->protocol == 6 && (args->sport == 80 || args->dport == 80)/');
  assert.equal(toPredicate(null), '');
  assert.throws(() => toPredicate('sport == 80; system("x")'));
  assert.match(buildBpftraceScript([{ name: 'tcp_retransmit_skb', filter: 'state == 2' }]), /tracepoint:tcp:tcp_retransmit_skb \/args->state == 2\//);
});

test('the interrupt flag reads the preempt count through the run queue when BTF places both', () => {
  const expression = x86InterruptExpression(new Map([['runqueues', 195776], ['__preempt_count', 86064]]));
  assert.equal(expression, '(*(uint32 *)((uint64)curtask->se.cfs_rq->rq - 195776 + 86064) & 0xff0100)');
  assert.equal(x86InterruptExpression(new Map([['runqueues', 1]])), null);
  const script = buildBpftraceScript([{ name: 'tcp_retransmit_skb', filter: null }], { interruptExpression: expression, retransmitErr: true });
  assert.match(script, /pid, \(\*\(uint32 \*\).*\? 1 : 0, \(uint64\)args->skaddr/);
  assert.match(script, /args->err, \$segs, comm/);
  assert.match(buildBpftraceScript([{ name: 'tcp_retransmit_skb', filter: null }]), /pid, 0, \(uint64\)args->skaddr.* 0, \$segs, comm/s);
});

test('a drop line becomes a drop event, oriented by direction, with the reason by name', () => {
  setDropReasonNames(new Map([[40, 'TCP_LISTEN_OVERFLOW'], [12, 'NETFILTER_DROP']]));
  // Printed by the kfree_skb probe (script.ts) for a final ACK that overflowed a full accept queue.
  const inbound = parseBpftraceLine('D 6002511023 1 0 1 ffff888101a2b300 2 40 10 0 127.0.0.1 37955 127.0.0.1 33333 16 tcp_v4_rcv swapper/1');
  assert.ok(inbound);
  assert.equal(inbound.kind, 'drop');
  assert.equal(inbound.reason, 'TCP_LISTEN_OVERFLOW');
  assert.equal(inbound.oldState, 10);
  assert.deepEqual([inbound.localAddress, inbound.localPort, inbound.remotePort], ['127.0.0.1', 33333, 37955]);
  assert.deepEqual(inbound.drop, { direction: 'in', tcpFlags: 16, location: 'tcp_v4_rcv' });
  const outbound = parseBpftraceLine('D 6002511023 0 4242 0 ffff888101a2b300 10 12 1 1 ::1 40000 ::1 8080 -1 nf_hook_slow curl worker');
  assert.ok(outbound);
  assert.equal(outbound.family, 6);
  assert.deepEqual([outbound.localPort, outbound.remotePort], [40000, 8080]);
  assert.equal(outbound.drop?.tcpFlags, null);
  assert.equal(outbound.comm, 'curl worker');
  assert.equal(parseBpftraceLine('D 1 2 3'), null);
});
