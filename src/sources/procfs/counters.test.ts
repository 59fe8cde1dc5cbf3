import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseHeaderValuePairs, parseSockstat } from './counters.js';
import { isMonotonicCounter } from '../../model/counters.js';

const fixtures = join(import.meta.dirname, '..', '..', '..', '..', 'test', 'fixtures', 'proc');

test('Tcp: and TcpExt: header/value pairs from real snmp and netstat files', () => {
  const snmp = parseHeaderValuePairs(readFileSync(join(fixtures, 'snmp'), 'latin1'), 'Tcp');
  for (const name of ['ActiveOpens', 'PassiveOpens', 'AttemptFails', 'EstabResets', 'InSegs', 'OutSegs', 'RetransSegs', 'OutRsts']) {
    assert.equal(typeof snmp[name], 'number', name);
  }
  assert.equal(snmp.MaxConn, -1); // signed: "no limit"
  const ext = parseHeaderValuePairs(readFileSync(join(fixtures, 'netstat'), 'latin1'), 'TcpExt');
  for (const name of ['ListenOverflows', 'ListenDrops', 'SyncookiesSent', 'TCPSynRetrans', 'TCPTimeouts', 'TCPReqQFullDrop', 'TCPAbortOnData']) {
    assert.equal(typeof ext[name], 'number', name);
  }
  // IpExt: must not leak into TcpExt.
  assert.equal(ext.InOctets, undefined);
});

test('sockstat fields become Sockstat-prefixed gauges', () => {
  const c = parseSockstat(readFileSync(join(fixtures, 'sockstat'), 'latin1'), 'TCP', '');
  assert.deepEqual(Object.keys(c).sort(), ['SockstatAlloc', 'SockstatInuse', 'SockstatMem', 'SockstatOrphan', 'SockstatTw']);
  assert.equal(isMonotonicCounter('SockstatTw'), false);
  assert.equal(isMonotonicCounter('CurrEstab'), false);
  assert.equal(isMonotonicCounter('RetransSegs'), true);
});
