import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCidr } from '../../model/address.js';
import type { ConnFilter } from '../../model/conn-filter.js';
import { allOf, anyOf, eitherAddress, eitherPort } from '../../model/conn-filter.js';
import { parseSsFilter } from '../../model/ss-filter.js';
import { compileEventFilter, hasUserFilter, kernelFilter, userSpaceFilter } from './filters.js';
import type { TraceEvent } from './events.js';

const NONE: ConnFilter = {};
const ports = (...p: number[]): ConnFilter => ({ expr: anyOf(p.map(eitherPort)) });
const expr = (text: string): ConnFilter => ({ expr: parseSsFilter([text]).expr! });

test('port filters become tracefs filter expressions on sport/dport', () => {
  assert.equal(kernelFilter('inet_sock_set_state', 'states', ports(80, 443)), 'protocol == 6 && (sport == 80 || dport == 80 || sport == 443 || dport == 443)');
  assert.equal(kernelFilter('tcp_retransmit_skb', 'retrans', expr('dport = :5432')), 'dport == 5432');
  assert.equal(kernelFilter('inet_sock_set_state', 'all', NONE), 'protocol == 6');
});

test('every port operator and negation of the expression reaches the kernel', () => {
  assert.equal(kernelFilter('tcp_receive_reset', 'resets', expr("sport >= :1024 and ! ( dport < :10 or dport != :22 )")), 'sport >= 1024 && !(dport < 10 || dport != 22)');
  assert.equal(kernelFilter('tcp_retransmit_synack', 'retrans', expr('sport le :80 dport gt :99')), 'sport <= 80 && dport > 99');
});

test('a single family is filtered in the kernel on the family field', () => {
  assert.equal(kernelFilter('tcp_retransmit_skb', 'retrans', { families: [6], ...ports(80) }), 'family == 10 && (sport == 80 || dport == 80)');
  assert.equal(kernelFilter('tcp_retransmit_skb', 'retrans', { families: [4, 6] }), null);
});

test('address conditions stay in user space, and so do the branches of an or they sit in', () => {
  // dst 10/8 cannot be tested in tracefs: `sport = :80 or dst 10.0.0.0/8` may hold on any port.
  assert.equal(kernelFilter('inet_sock_set_state', 'states', expr('sport = :80 or dst 10.0.0.0/8')), 'protocol == 6');
  assert.equal(kernelFilter('inet_sock_set_state', 'states', expr('sport = :80 and dst 10.0.0.0/8')), 'protocol == 6 && sport == 80');
  assert.equal(kernelFilter('inet_sock_set_state', 'states', expr('dst 10.0.0.0/8:443')), 'protocol == 6');
});

test('connect and accept modes keep only the transitions they need, in the kernel', () => {
  assert.equal(kernelFilter('inet_sock_set_state', 'connect', NONE), 'protocol == 6 && ((oldstate == 7 && newstate == 2) || oldstate == 2)');
  assert.equal(kernelFilter('tcp_retransmit_skb', 'connect', NONE), 'state == 2');
  assert.match(kernelFilter('inet_sock_set_state', 'accept', NONE) ?? '', /oldstate == 10 && newstate == 3/);
});

test('tcp_send_reset has no port fields, so its filter is left to user space', () => {
  assert.equal(kernelFilter('tcp_send_reset', 'resets', ports(80)), null);
});

const event = (localPort: number, remote: string, pid: number | null): TraceEvent => ({
  type: 'reset', ts: 0, family: 4, local: { address: '10.0.0.1', port: localPort }, remote: { address: remote, port: 9 },
  pid, process: null, direction: 'sent', reason: 'NO_SOCKET', state: null,
});

const matches = (e: TraceEvent, f: ConnFilter): boolean => compileEventFilter(f)(e);

test('user-space filters: ports, address ranges, pids; lost events always pass', () => {
  assert.equal(matches(event(80, '10.0.0.2', null), ports(80)), true);
  assert.equal(matches(event(81, '10.0.0.2', null), ports(80)), false);
  assert.equal(matches(event(81, '192.168.1.7', null), { expr: eitherAddress(parseCidr('192.168.0.0/16')) }), true);
  assert.equal(matches(event(81, '172.16.1.7', null), { expr: eitherAddress(parseCidr('192.168.0.0/16')) }), false);
  assert.equal(matches(event(81, '172.16.1.7', 7), { pids: [7] }), true);
  assert.equal(matches(event(81, '172.16.1.7', null), { pids: [7] }), false);
  const lost: TraceEvent = { type: 'lost', ts: 0, family: null, local: null, remote: null, pid: null, process: null, count: 3, cpu: 0 };
  assert.equal(matches(lost, { ...ports(80), pids: [1] }), true);
});

test('a state condition keeps events whose socket was in or entered one of the states', () => {
  const transition = (oldState: 'FIN_WAIT2' | 'TIME_WAIT', newState: 'TIME_WAIT' | 'CLOSE'): TraceEvent => ({
    type: 'state', ts: 0, family: 4, local: { address: '10.0.0.1', port: 1 }, remote: { address: '10.0.0.2', port: 2 },
    pid: null, process: null, oldState, newState, durationMs: null,
  });
  const tw: ConnFilter = { states: ['TIME_WAIT'] };
  assert.equal(matches(transition('FIN_WAIT2', 'TIME_WAIT'), tw), true);
  assert.equal(matches(transition('TIME_WAIT', 'CLOSE'), tw), true);
  assert.equal(matches(transition('TIME_WAIT', 'CLOSE'), { states: ['ESTABLISHED'] }), false);
  // States are never given to the kernel: the tracker needs every transition of a socket.
  assert.equal(kernelFilter('inet_sock_set_state', 'states', tw), 'protocol == 6');
});

test('ports the kernel filtered are not checked again in user space; address ranges and pids always are', () => {
  const filter: ConnFilter = { expr: allOf([ports(80).expr!, expr('sport = :81').expr!, expr('dport = :82').expr!]) };
  for (const mode of ['states', 'connect', 'accept', 'retrans', 'life'] as const) {
    assert.equal(hasUserFilter(userSpaceFilter(mode, filter)), false, mode);
  }
  // tcp_send_reset has no port fields: those modes still need the ports checked here.
  assert.deepEqual(userSpaceFilter('resets', filter), filter);
  assert.deepEqual(userSpaceFilter('all', filter), filter);
  const cidr = eitherAddress(parseCidr('10.0.0.0/8'));
  assert.deepEqual(userSpaceFilter('states', { expr: allOf([filter.expr!, cidr]), pids: [7] }), { expr: cidr, pids: [7] });
});
