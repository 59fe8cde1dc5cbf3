import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NEEDS, effectiveCapabilities, hasCapabilities, privilegeError } from './privileges.js';

test('effective capabilities are read from the CapEff mask of /proc/PID/status', () => {
  assert.deepEqual([...effectiveCapabilities('CapInh:\t0\nCapEff:\t0000000000002000\n')], ['CAP_NET_RAW']);
  assert.deepEqual([...effectiveCapabilities('CapEff:\t0000000000000000\n')], []);
  const all = effectiveCapabilities('CapEff:\t000001ffffffffff\n');
  assert.ok(hasCapabilities(['CAP_BPF', 'CAP_PERFMON', 'CAP_NET_ADMIN', 'CAP_DAC_OVERRIDE'], all));
  assert.ok(!hasCapabilities(['CAP_NET_ADMIN'], effectiveCapabilities('CapEff:\t0000000000002000\n')));
  assert.deepEqual([...effectiveCapabilities('no such line')], []);
});

test('a refusal names the capabilities in its message and the ways to get them in its hint', () => {
  const error = privilegeError(NEEDS.fault());
  assert.equal(error.code, 'TCPDIAG_NEEDS_ROOT');
  assert.equal(error.message, 'tcpdiag fault (nftables) needs CAP_NET_ADMIN (or root): nft changes the firewall');
  assert.deepEqual(error.hint?.split('\n'), [
    'run it as root: sudo tcpdiag fault ...',
    'or in the systemd unit of a service running tcpdiag: AmbientCapabilities=CAP_NET_ADMIN',
    'without it: tcpdiag proxy injects latency, bandwidth limits and resets, and tcpdiag server its faults, without privileges',
  ]);
  assert.match(privilegeError(NEEDS.traceDetail()).message, /^tcpdiag trace --detail \(bpftrace\) needs root: /);
});
