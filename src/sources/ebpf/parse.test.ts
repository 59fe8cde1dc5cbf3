import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBpftraceLine, setResetReasonNames } from './parse.js';
import { buildBpftraceScript, toPredicate } from './script.js';

test('a state line from bpftrace becomes a raw event with socket fields', () => {
  // Printed by the script in script.ts (bpftrace 0.17, kernel 6.18).
  const e = parseBpftraceLine('S 554099041937 1 16040 ffff888131619280 2 1 7 127.0.0.1 ::ffff:127.0.0.1 43013 127.0.0.1 ::ffff:127.0.0.1 50996 18 65536 65536 4050540 2129130 4050462 9 4096 0 97 wrk worker');
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
  const e = parseBpftraceLine('X 585080345241 1 17605 0 10 0 0 0.0.0.0 ::1 1 0.0.0.0 ::1 56362 1 curl');
  assert.ok(e);
  assert.equal(e.kind, 'send-reset');
  assert.equal(e.family, 6);
  assert.equal(e.localAddress, '::1');
  assert.equal(e.remotePort, 56362);
  assert.equal(e.reason, 'NO_SOCKET');
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
