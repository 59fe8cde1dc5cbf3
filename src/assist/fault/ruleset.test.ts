import { test } from 'node:test';
import assert from 'node:assert/strict';
import { faultRuleset, faultRules, faultTableName, pidOfFaultTable } from './ruleset.js';

test('loss drops a share of packets to and from the port on the INPUT hook', () => {
  assert.equal(
    faultRuleset('tcpdiag_fault_42', { kind: 'loss', port: 8080, percent: 5 }),
    'table inet tcpdiag_fault_42 {\n' +
      '  chain input {\n' +
      '    type filter hook input priority -10; policy accept;\n' +
      '    tcp dport 8080 numgen random mod 100 < 5 counter drop\n' +
      '    tcp sport 8080 numgen random mod 100 < 5 counter drop\n' +
      '  }\n' +
      '}\n',
  );
});

test('synack-drop matches SYN+ACK from the port; 100% needs no sampling', () => {
  assert.deepEqual(faultRules({ kind: 'synack-drop', port: 443, percent: 100 }), ['tcp sport 443 tcp flags & (syn | ack) == syn | ack counter drop']);
  assert.deepEqual(faultRules({ kind: 'synack-drop', port: 443, percent: 30 }), ['tcp sport 443 tcp flags & (syn | ack) == syn | ack numgen random mod 100 < 30 counter drop']);
});

test('only validated numbers reach the ruleset', () => {
  assert.throws(() => faultRules({ kind: 'loss', port: 0, percent: 5 }), /--port 0/);
  assert.throws(() => faultRules({ kind: 'loss', port: 80, percent: 101 }), /--percent 101/);
  assert.throws(() => faultRules({ kind: 'loss', port: 80, percent: 2.5 }), /--percent 2.5/);
  assert.throws(() => faultRuleset('x; flush ruleset', { kind: 'loss', port: 80, percent: 5 }), /not a tcpdiag fault table/);
});

test('fault table names carry the pid and are recognised only in that form', () => {
  assert.equal(faultTableName(1234), 'tcpdiag_fault_1234');
  assert.equal(pidOfFaultTable('tcpdiag_fault_1234'), 1234);
  assert.equal(pidOfFaultTable('tcpdiag_fault_x'), null);
  assert.equal(pidOfFaultTable('filter'), null);
});
