import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTableSql, droppedRow, rowsOf } from './rows.js';
import type { AlertTransition } from '../../model/alert.js';

const AT = Date.UTC(2026, 11, 1, 10, 0, 5, 250);

test('the DDL uses only what ClickHouse 18.16 has: no DateTime64, no TTL, no Nullable, no Map', () => {
  const sql = createTableSql('default', 'tcpdiag_events');
  assert.doesNotMatch(sql, /DateTime64|TTL|Nullable|Map\(|JSON\b/);
  assert.match(sql, /ORDER BY \(host, time\)/);
});

test('a firing alert names its listener and the owner from its evidence, in UTC seconds and ms', () => {
  const t: AlertTransition = {
    status: 'firing', repeat: false, rule: 'close-wait-growth', metric: 'close_wait', severity: 'P3', scopeKind: 'listener', scope: '127.0.0.1:8080',
    value: 7, threshold: 2, atMs: AT, startsAtMs: AT, activeSinceMs: AT, summary: 'CLOSE_WAIT piling up',
    evidence: { counters: {}, topListeners: [{ listener: '127.0.0.1:8080', sockets: 7, process: { pid: 42, process: 'leaky' } }], topSources: [], sockets: [] },
  };
  const [row] = rowsOf('web1', { kind: 'alert', atMs: AT, transition: t });
  assert.deepEqual({ ...row, evidence: undefined }, {
    host: 'web1', time: '2026-12-01 10:00:05', time_ms: AT, kind: 'alert', name: 'close-wait-growth', severity: 'P3', listener: '127.0.0.1:8080', peer: '', process: 'leaky',
    reason: 'firing', value: 7, threshold: 2, count: 1, evidence: undefined,
  });
  assert.equal((JSON.parse(row!.evidence) as { evidence: { topListeners: unknown[] } }).evidence.topListeners.length, 1);
});

test('findings take listener, peer and process from their evidence; kernel events and rollups their own fields; samples none', () => {
  const f = rowsOf('h', { kind: 'findings', atMs: AT, fromMs: AT - 60_000, findings: [{ id: 'reset-storm', severity: 'warning', title: '30 resets', subject: '10.0.0.7', explanation: '', evidence: { peers: [{ peer: '10.0.0.7', count: 30 }] }, advice: [], source: 'the agent', atMs: AT }] });
  assert.equal(f[0]!.peer, '10.0.0.7');
  assert.equal(f[0]!.name, 'reset-storm');
  const e = rowsOf('h', { kind: 'event', atMs: AT, event: 'reset', data: { peer: '10.0.0.8', listener: '0.0.0.0:443', comm: 'nginx', reason: 'TCPAbortOnData', count: 3 } });
  assert.deepEqual([e[0]!.kind, e[0]!.peer, e[0]!.listener, e[0]!.process, e[0]!.reason, e[0]!.count], ['reset', '10.0.0.8', '0.0.0.0:443', 'nginx', 'TCPAbortOnData', 3]);
  // The agent's own kernel events: endpoints, a direction; the per-second counts stay metrics.
  const reset = rowsOf('h', { kind: 'event', atMs: AT, event: 'reset', data: { ts: AT, kind: 'reset', family: 6, local: { address: '::1', port: 8443 }, remote: { address: '2001:db8::7', port: 51000 }, direction: 'received', state: 'ESTABLISHED', reason: null, detail: {} } });
  assert.deepEqual([reset[0]!.kind, reset[0]!.name, reset[0]!.peer, reset[0]!.listener], ['reset', 'received', '2001:db8::7', '']);
  const accepted = rowsOf('h', { kind: 'event', atMs: AT, event: 'state', data: { ts: AT, kind: 'state', family: 6, local: { address: '::1', port: 8443 }, remote: { address: '::1', port: 51001 }, direction: 'passive', state: 'CLOSE', reason: 'aborted', detail: {} } });
  assert.deepEqual([accepted[0]!.listener, accepted[0]!.reason], ['[::1]:8443', 'aborted']);
  assert.deepEqual(rowsOf('h', { kind: 'event', atMs: AT, event: 'counts', data: { 'open.active': 3 } }), []);
  // A closed minute's rollups: a row per key and abnormal measure that is not zero.
  const minute = { ts: AT, opened: 5, closed: 5, resets: 0, retransmits: 120, failed: 2, bytesSent: 100, bytesReceived: 10, rttMeanMs: 1.5, rttMaxMs: 3, rttSamples: 4 };
  // The per-remote-port rows stay in the agent: the fleet counts the peers' events from the per-peer rows.
  const r = rowsOf('h', { kind: 'rollup', atMs: AT + 60_000, rows: [{ ...minute, by: 'peer', key: '10.0.0.9' }, { ...minute, by: 'listener', key: '10.0.0.1:80', retransmits: 0, failed: 0 }, { ...minute, by: 'remote-port', key: '443' }] });
  assert.deepEqual(r.map((x) => [x.kind, x.name, x.peer, x.listener, x.count, x.time_ms]), [['rollup.peer', 'retransmits', '10.0.0.9', '', 120, AT], ['rollup.peer', 'failed', '10.0.0.9', '', 2, AT]]);
  assert.equal((JSON.parse(r[0]!.evidence) as { opened: number }).opened, 5);
  assert.deepEqual(rowsOf('h', { kind: 'sample', atMs: AT, states: {}, series: {} }), []);
  assert.deepEqual(rowsOf('h', { kind: 'something-new', atMs: AT }), []);
  assert.equal(droppedRow('h', AT, 17, 600).count, 17);
});
