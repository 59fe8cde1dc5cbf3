import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseProcNetTcp } from './tcp-table.js';

const fixtures = join(import.meta.dirname, '..', '..', '..', '..', 'test', 'fixtures', 'proc');

test('IPv4 lines from a real /proc/net/tcp decode to addresses, ports and states', () => {
  const sockets = parseProcNetTcp(readFileSync(join(fixtures, 'net_tcp'), 'latin1'), 4);
  assert.equal(sockets.length, 5);
  assert.deepEqual(sockets[0]!.local, { address: '0.0.0.0', port: 2024 });
  assert.equal(sockets[0]!.state, 'LISTEN');
  assert.equal(sockets[0]!.inode, 1594);
  assert.deepEqual(sockets[1]!.local, { address: '127.0.0.1', port: 0xa805 });
  assert.deepEqual(sockets[1]!.remote, { address: '0.0.0.0', port: 0 });
  assert.equal(sockets[1]!.timer.kind, 'none');
  assert.equal(sockets[1]!.timer.expiresMs, null);
});

test('IPv6 lines decode the four host-order words and the TIME_WAIT timer in clock ticks', () => {
  const sockets = parseProcNetTcp(readFileSync(join(fixtures, 'net_tcp6'), 'latin1'), 6);
  assert.equal(sockets.length, 5);
  const first = sockets[0]!;
  assert.equal(first.family, 6);
  assert.deepEqual(first.local, { address: '::1', port: 0xdefa });
  assert.deepEqual(first.remote, { address: '::1', port: 0x8011 });
  assert.equal(first.state, 'TIME_WAIT');
  assert.equal(first.inode, 0);
  // 0x11D0 = 4560 ticks at USER_HZ 100
  assert.deepEqual(first.timer, { kind: 'timewait', expiresMs: 45_600, retransmits: 0 });
});

test('queues, uid and IPv4-mapped IPv6 addresses', () => {
  const header = '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
  const mapped = '0000000000000000FFFF00000100007F';
  const line = `   0: ${mapped}:1F90 ${mapped}:C350 01 0000000A:00000014 01:00000032 00000002  1000        0 4242 1 0000000000000000 20 4 30 10 -1\n`;
  const [s] = parseProcNetTcp(header + line, 6);
  assert.ok(s);
  assert.deepEqual(s.local, { address: '::ffff:127.0.0.1', port: 8080 });
  assert.equal(s.state, 'ESTABLISHED');
  assert.equal(s.sendQ, 10);
  assert.equal(s.recvQ, 20);
  assert.equal(s.uid, 1000);
  assert.deepEqual(s.timer, { kind: 'retransmit', expiresMs: 500, retransmits: 2 });
});

test('garbage lines are skipped, not fatal', () => {
  const text = 'header\nnot a socket line\n   0: ZZZ:1 00000000:0000 0A\n   1: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 7\n';
  const sockets = parseProcNetTcp(text, 4);
  assert.equal(sockets.length, 1);
  assert.equal(sockets[0]!.local.port, 80);
});
