import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildReport, mergeEngineResults, renderReportText } from './report.js';
import type { BenchSettings } from './report.js';
import type { EngineResult } from './engine.js';
import { encodeHistogram, newHistogram, recordMs } from './histogram.js';

function engineResult(latenciesMs: number[], extra: Partial<EngineResult> = {}): EngineResult {
  const latency = newHistogram();
  const connect = newHistogram();
  for (const ms of latenciesMs) recordMs(latency, ms);
  recordMs(connect, 0.1);
  return {
    requests: latenciesMs.length, successes: latenciesMs.length, errors: {}, errorSamples: {}, statusCodes: { '200': latenciesMs.length },
    connects: 1, bytesSent: 100, bytesReceived: 1000, retransmits: 1, socketsSampled: 1, unsent: 0, elapsedMs: 1000,
    transport: 'handle', connectHistogram: encodeHistogram(connect), latencyHistogram: encodeHistogram(latency), ...extra,
  };
}

const settings: BenchSettings = {
  target: 'x:1', protocol: 'tcp', connections: 2, threads: 2, newConnection: false, rate: null,
  durationMs: 1000, requestLimit: null, timeoutMs: 5000, transport: 'handle',
};

test('engines that ran in parallel merge: counts add, elapsed is the longest, histograms combine', () => {
  const run = mergeEngineResults([engineResult([1, 2, 3]), engineResult([10], { elapsedMs: 2000, errors: { reset: 2 }, requests: 3, successes: 1 })], 64, null);
  assert.equal(run.requests, 6);
  assert.equal(run.successes, 4);
  assert.deepEqual(run.errors, { reset: 2 });
  assert.deepEqual(run.statusCodes, { '200': 4 });
  assert.equal(run.elapsedMs, 2000);
  assert.equal(run.requestsPerSecond, 3);
  assert.equal(run.latencyMs.count, 4);
  // HDR histograms keep 3 significant digits: max is exact to 0.1%.
  assert.ok(run.latencyMs.max >= 10 && run.latencyMs.max <= 10.01, String(run.latencyMs.max));
  assert.equal(run.retransmits, 2);
});

test('runs one after another add their elapsed time; an MSS sweep compares throughput with the best', () => {
  const a = mergeEngineResults([engineResult([1], { bytesReceived: 500 })], 1024, 536);
  const b = mergeEngineResults([engineResult([1], { bytesReceived: 1000 })], 1024, 1460);
  const report = buildReport(settings, [a, b]);
  assert.equal(report.elapsedMs, 2000);
  assert.equal(report.requests, 2);
  assert.deepEqual(report.mssSweep?.map((row) => [row.mss, row.relativeThroughput]), [[536, 0.5], [1460, 1]]);
  const text = renderReportText(report);
  assert.match(text, /MSS sweep/);
  assert.match(text, /536 .* 50%/);
});

test('a report without any answered request renders zeros, not NaN', () => {
  const empty = mergeEngineResults([engineResult([], { requests: 5, successes: 0, errors: { refused: 5 }, statusCodes: {}, connects: 0 })], 64, null);
  const report = buildReport(settings, [empty]);
  assert.equal(report.latencyMs.p99, 0);
  assert.doesNotMatch(renderReportText(report), /NaN/);
  assert.match(renderReportText(report), /errors refused: 5/);
});
