import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCidr } from '../../model/address.js';
import { hasUserFilters, kernelFilter, matchesFilters, NO_FILTERS, userSpaceFilters } from './filters.js';
import type { TraceEvent } from './events.js';

test('port filters become tracefs filter expressions on sport/dport', () => {
  const f = { ...NO_FILTERS, ports: [80, 443] };
  assert.equal(kernelFilter('inet_sock_set_state', 'states', f), 'protocol == 6 && ((sport == 80 || dport == 80) || (sport == 443 || dport == 443))');
  assert.equal(kernelFilter('tcp_retransmit_skb', 'retrans', { ...NO_FILTERS, dports: [5432] }), 'dport == 5432');
  assert.equal(kernelFilter('inet_sock_set_state', 'all', NO_FILTERS), 'protocol == 6');
});

test('connect and accept modes keep only the transitions they need, in the kernel', () => {
  assert.equal(kernelFilter('inet_sock_set_state', 'connect', NO_FILTERS), 'protocol == 6 && ((oldstate == 7 && newstate == 2) || oldstate == 2)');
  assert.equal(kernelFilter('tcp_retransmit_skb', 'connect', NO_FILTERS), 'state == 2');
  assert.match(kernelFilter('inet_sock_set_state', 'accept', NO_FILTERS) ?? '', /oldstate == 10 && newstate == 3/);
});

test('tcp_send_reset has no port fields, so its filter is left to user space', () => {
  assert.equal(kernelFilter('tcp_send_reset', 'resets', { ...NO_FILTERS, ports: [80] }), null);
});

const event = (localPort: number, remote: string, pid: number | null): TraceEvent => ({
  type: 'reset', ts: 0, family: 4, local: { address: '10.0.0.1', port: localPort }, remote: { address: remote, port: 9 },
  pid, process: null, direction: 'sent', reason: 'NO_SOCKET', state: null,
});

test('user-space filters: ports, address ranges, pids; lost events always pass', () => {
  assert.equal(matchesFilters(event(80, '10.0.0.2', null), { ...NO_FILTERS, ports: [80] }), true);
  assert.equal(matchesFilters(event(81, '10.0.0.2', null), { ...NO_FILTERS, ports: [80] }), false);
  assert.equal(matchesFilters(event(81, '192.168.1.7', null), { ...NO_FILTERS, cidrs: [parseCidr('192.168.0.0/16')] }), true);
  assert.equal(matchesFilters(event(81, '172.16.1.7', null), { ...NO_FILTERS, cidrs: [parseCidr('192.168.0.0/16')] }), false);
  assert.equal(matchesFilters(event(81, '172.16.1.7', 7), { ...NO_FILTERS, pids: [7] }), true);
  assert.equal(matchesFilters(event(81, '172.16.1.7', null), { ...NO_FILTERS, pids: [7] }), false);
  const lost: TraceEvent = { type: 'lost', ts: 0, family: null, local: null, remote: null, pid: null, process: null, count: 3, cpu: 0 };
  assert.equal(matchesFilters(lost, { ...NO_FILTERS, ports: [80], pids: [1] }), true);
});

test('ports the kernel filtered are not checked again in user space; address ranges and pids always are', () => {
  const filters = { ...NO_FILTERS, ports: [80], sports: [81], dports: [82] };
  for (const mode of ['states', 'connect', 'accept', 'retrans', 'life'] as const) {
    assert.equal(hasUserFilters(userSpaceFilters(mode, filters)), false, mode);
  }
  // tcp_send_reset has no port fields: those modes still need the ports checked here.
  assert.deepEqual(userSpaceFilters('resets', filters), filters);
  assert.deepEqual(userSpaceFilters('all', filters), filters);
  const cidrs = [parseCidr('10.0.0.0/8')];
  assert.deepEqual(userSpaceFilters('states', { ...filters, cidrs, pids: [7] }), { ...NO_FILTERS, cidrs, pids: [7] });
});
