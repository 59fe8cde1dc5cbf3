import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTcpState, tcpStateFromKernel, tcpStateToKernel, TCP_STATES } from './tcp-state.js';

test('kernel numbers round-trip (include/net/tcp_states.h)', () => {
  for (const state of TCP_STATES) assert.equal(tcpStateFromKernel(tcpStateToKernel(state)), state);
  assert.equal(tcpStateToKernel('ESTABLISHED'), 1);
  assert.equal(tcpStateToKernel('LISTEN'), 10);
  assert.equal(tcpStateFromKernel(12), 'SYN_RECV'); // TCP_NEW_SYN_RECV request socks
  assert.equal(tcpStateFromKernel(0), undefined);
  assert.equal(tcpStateFromKernel(99), undefined);
});

test('states parse however ss, tracefs or a person spells them', () => {
  assert.equal(parseTcpState('established'), 'ESTABLISHED');
  assert.equal(parseTcpState('ESTAB'), 'ESTABLISHED');
  assert.equal(parseTcpState('time-wait'), 'TIME_WAIT');
  assert.equal(parseTcpState('TCP_CLOSE_WAIT'), 'CLOSE_WAIT');
  assert.equal(parseTcpState('fin-wait-2'), 'FIN_WAIT2');
  assert.equal(parseTcpState('FIN_WAIT1'), 'FIN_WAIT1');
  assert.equal(parseTcpState('syn-recv'), 'SYN_RECV');
  assert.equal(parseTcpState('open'), undefined);
});
