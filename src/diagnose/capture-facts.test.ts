import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diagnoseCapture } from './capture-facts.js';
import type { CaptureInputs } from '../analysis/pcap/capture-inputs.js';
import type { AnalysisReport } from '../analysis/pcap/report-types.js';
import { configSchema } from '../config/schema.js';

const defaults = configSchema.parse({});
const thresholds = { ...defaults.thresholds, ...defaults.diagnose };

const inputs = (over: Partial<CaptureInputs>): CaptureInputs => ({ services: [], peers: [], stalls: [], peakSynPerSecond: 0, icmp: [], ...over });

/** The parts of an analysis report the capture facts read. */
const report = { packets: 1000, firstPacket: '2023-11-14T22:13:20.000Z', lastPacket: '2023-11-14T22:13:30.000Z', failedHandshakes: [] } as unknown as AnalysisReport;

test('many SYNs to one service with few completed handshakes is a critical syn-flood', () => {
  const d = diagnoseCapture(inputs({ services: [{ address: '10.0.0.2', port: 80, syn: 1000, completed: 10, refused: 0, sources: 1, sourcePorts: 1000 }], peakSynPerSecond: 800 }), report, thresholds);
  assert.deepEqual(d.findings.map((f) => [f.id, f.severity, f.subject]), [['syn-flood', 'critical', '10.0.0.2:80']]);
});

test('a busy healthy service is not a flood', () => {
  const d = diagnoseCapture(inputs({ services: [{ address: '10.0.0.2', port: 80, syn: 5000, completed: 4990, refused: 0, sources: 300, sourcePorts: 5000 }] }), report, thresholds);
  assert.deepEqual(d.findings, []);
  assert.equal(d.checked.find((c) => c.id === 'syn-flood')?.status, 'passed');
});

test('a peer sent no data is not judged for retransmissions, however many it got', () => {
  const d = diagnoseCapture(inputs({ peers: [{ address: '192.0.2.7', dataSegments: 0, retransmissions: 500 }] }), report, thresholds);
  assert.deepEqual(d.findings, []);
});

test('an ICMP error the capture cannot tie to an MSS is no MTU finding', () => {
  const icmp = [{ kind: 'mtu' as const, name: 'fragmentation-needed', family: 4 as const, type: 3, code: 4, mtu: 1400, from: '10.0.0.254', server: '192.0.2.9:443', senders: ['10.0.0.1'], count: 1, mss: -1, firstMs: 0, connectionIds: [] }];
  const d = diagnoseCapture(inputs({ icmp }), report, thresholds);
  assert.deepEqual(d.findings, []);
  assert.equal(d.checked.find((c) => c.id === 'mtu-blackhole')?.status, 'passed');
});
