import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseQueueRules } from './queue-rules.js';
import { faultRuleset, nfqueueRuleArgs, validateFaultSpec } from './ruleset.js';

test('delay marks packets to the port on the OUTPUT hook while the lease lives; iptables queues the marked ones', () => {
  const ruleset = faultRuleset('tcpdiag_fault_42', { kind: 'delay', port: 8080, percent: 100, delayMs: 50 }, 10_000);
  assert.match(ruleset, /chain output \{\n {4}type filter hook output priority -10; policy accept;\n {4}meta l4proto @lease tcp dport 8080 counter meta mark set meta mark \| 0x00100000\n/);
  assert.deepEqual(nfqueueRuleArgs('-I', 'tcpdiag_fault_42', 31000), [
    '-w', '-t', 'filter', '-I', 'OUTPUT', '1', '-m', 'mark', '--mark', '0x00100000/0x00100000',
    '-m', 'comment', '--comment', 'tcpdiag_fault_42', '-j', 'NFQUEUE', '--queue-num', '31000', '--queue-bypass',
  ]);
  assert.throws(() => nfqueueRuleArgs('-D', 'not_ours', 1), /not a tcpdiag fault table name/);
});

test('delay values: more than 0 ms, jitter at most the delay', () => {
  assert.throws(() => validateFaultSpec({ kind: 'delay', port: 80, percent: 100, delayMs: 0 }), /--ms 0/);
  assert.throws(() => validateFaultSpec({ kind: 'delay', port: 80, percent: 100, delayMs: 10, jitterMs: 11 }), /--jitter 11: expected 0 to --ms \(10\)/);
  assert.doesNotThrow(() => validateFaultSpec({ kind: 'delay', port: 80, percent: 100, delayMs: 10, jitterMs: 10 }));
});

test('leftover NFQUEUE rules are found in iptables -S by the fault table in their comment', () => {
  const listing = [
    '-P OUTPUT ACCEPT',
    '-A OUTPUT -m mark --mark 0x100000/0x100000 -m comment --comment tcpdiag_fault_123 -j NFQUEUE --queue-num 31492 --queue-bypass',
    '-A OUTPUT -p tcp -m comment --comment "someone else" -j NFQUEUE --queue-num 0',
    '-A OUTPUT -m comment --comment tcpdiag_fault_x -j NFQUEUE --queue-num 5',
    '-A OUTPUT -j ACCEPT',
  ].join('\n');
  assert.deepEqual(parseQueueRules('iptables', listing), [{ tool: 'iptables', table: 'tcpdiag_fault_123', pid: 123, queue: 31492 }]);
});
