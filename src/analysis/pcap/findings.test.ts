import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildFindings } from './findings.js';
import type { FindingInputs } from './findings.js';
import type { AnalysisSummary } from './report-types.js';

const summary = (over: Partial<AnalysisSummary> = {}): AnalysisSummary => ({
  connections: 0, streams: 0, syn: 0, synAck: 0, fin: 0, rst: 0, retransmissions: 0, fastRetransmissions: 0, spuriousRetransmissions: 0,
  duplicateAcks: 0, zeroWindows: 0, outOfOrder: 0, lostSegments: 0, keepAlives: 0, handshakesCompleted: 0, handshakesFailed: 0, payloadBytes: 0, icmpErrors: 0, ...over,
});

const inputs = (over: Partial<FindingInputs>): FindingInputs => ({ summary: summary(), durationS: 10, atMs: 1_700_000_000_000, services: [], peers: [], stalls: [], peakSynPerSecond: 0, icmp: [], ...over });

test('many SYNs to one service with few completed handshakes is a critical syn-flood', () => {
  const f = buildFindings(inputs({
    summary: summary({ handshakesFailed: 990 }),
    services: [{ address: '10.0.0.2', port: 80, syn: 1000, completed: 10, refused: 0, sources: 1, sourcePorts: 1000 }],
    peakSynPerSecond: 800,
  }));
  const flood = f.find((x) => x.id === 'syn-flood');
  assert.ok(flood);
  assert.equal(flood.severity, 'critical');
  assert.equal(flood.evidence.completionRatio, 0.01);
  assert.equal(f.some((x) => x.id === 'failed-handshakes'), false, 'the flood explains the failed handshakes');
});

test('a busy healthy service is not a flood', () => {
  const f = buildFindings(inputs({ services: [{ address: '10.0.0.2', port: 80, syn: 5000, completed: 4990, refused: 0, sources: 300, sourcePorts: 5000 }] }));
  assert.deepEqual(f, []);
});

test('retransmissions concentrated toward one peer are a storm; a few are not', () => {
  const f = buildFindings(inputs({
    peers: [
      { address: '192.0.2.7', dataSegments: 400, retransmissions: 120 },
      { address: '192.0.2.8', dataSegments: 4000, retransmissions: 12 },
    ],
  }));
  assert.deepEqual(f.map((x) => [x.id, x.severity, x.evidence.peer]), [['retransmission-storm', 'critical', '192.0.2.7']]);
});

test('a zero window held over a second is a stall; refused connections are reported', () => {
  const f = buildFindings(inputs({
    stalls: [{ id: 3, client: '10.0.0.1:5000', server: '10.0.0.2:80', stallMs: 2500, zeroWindows: 9 }, { id: 4, client: 'a:1', server: 'b:2', stallMs: 200, zeroWindows: 1 }],
    services: [{ address: '10.0.0.9', port: 81, syn: 3, completed: 0, refused: 3, sources: 1, sourcePorts: 3 }],
    summary: summary({ handshakesFailed: 3 }),
  }));
  assert.deepEqual(f.map((x) => x.id).sort(), ['connection-refused', 'failed-handshakes', 'zero-window-stall']);
  assert.equal(f.find((x) => x.id === 'zero-window-stall')?.evidence.connection, 3);
});
