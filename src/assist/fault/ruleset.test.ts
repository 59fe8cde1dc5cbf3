import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LEASE_MS, faultRuleset, faultRules, faultTableName, leaseRenewal, leaseTimeoutMs, pidOfFaultTable } from './ruleset.js';

test('loss drops a share of packets to and from the port on the INPUT hook while the lease lives', () => {
  assert.equal(
    faultRuleset('tcpdiag_fault_42', { kind: 'loss', port: 8080, percent: 5 }, 10_000),
    'table inet tcpdiag_fault_42 {\n' +
      '  set lease {\n' +
      '    type inet_proto; flags timeout;\n' +
      '    elements = { tcp timeout 10000ms }\n' +
      '  }\n' +
      '  chain input {\n' +
      '    type filter hook input priority -10; policy accept;\n' +
      '    meta l4proto @lease tcp dport 8080 numgen random mod 100 < 5 counter drop\n' +
      '    meta l4proto @lease tcp sport 8080 numgen random mod 100 < 5 counter drop\n' +
      '  }\n' +
      '}\n',
  );
});

test('synack-drop matches SYN+ACK from the port; 100% needs no sampling', () => {
  assert.deepEqual(faultRules({ kind: 'synack-drop', port: 443, percent: 100 }), ['meta l4proto @lease tcp sport 443 tcp flags & (syn | ack) == syn | ack counter drop']);
  assert.deepEqual(faultRules({ kind: 'synack-drop', port: 443, percent: 30 }), ['meta l4proto @lease tcp sport 443 tcp flags & (syn | ack) == syn | ack numgen random mod 100 < 30 counter drop']);
});

test('the lease runs LEASE_MS ahead but never past the deadline, and is renewed without a gap', () => {
  assert.equal(leaseTimeoutMs(1000, null), LEASE_MS);
  assert.equal(leaseTimeoutMs(1000, 1000 + 60_000), LEASE_MS);
  assert.equal(leaseTimeoutMs(1000, 1000 + 2500.2), 2501);
  assert.equal(leaseTimeoutMs(5000, 4000), 0);
  assert.equal(leaseRenewal('tcpdiag_fault_42', 2501), 'flush set inet tcpdiag_fault_42 lease\nadd element inet tcpdiag_fault_42 lease { tcp timeout 2501ms }\n');
  assert.equal(leaseRenewal('tcpdiag_fault_42', 0), 'flush set inet tcpdiag_fault_42 lease\n');
  assert.throws(() => leaseRenewal('filter', 10), /not a tcpdiag fault table/);
});

test('only validated numbers reach the ruleset', () => {
  assert.throws(() => faultRules({ kind: 'loss', port: 0, percent: 5 }), /--port 0/);
  assert.throws(() => faultRules({ kind: 'loss', port: 80, percent: 101 }), /--percent 101/);
  assert.throws(() => faultRules({ kind: 'loss', port: 80, percent: 2.5 }), /--percent 2.5/);
  assert.throws(() => faultRuleset('x; flush ruleset', { kind: 'loss', port: 80, percent: 5 }, 1000), /not a tcpdiag fault table/);
  assert.throws(() => faultRuleset('tcpdiag_fault_1', { kind: 'loss', port: 80, percent: 5 }, 0), /invalid lease/);
});

test('fault table names carry the pid and are recognised only in that form', () => {
  assert.equal(faultTableName(1234), 'tcpdiag_fault_1234');
  assert.equal(pidOfFaultTable('tcpdiag_fault_1234'), 1234);
  assert.equal(pidOfFaultTable('tcpdiag_fault_x'), null);
  assert.equal(pidOfFaultTable('filter'), null);
});
