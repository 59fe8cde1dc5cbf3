import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareWithBaseline, readBaseline, DEFAULT_THRESHOLDS } from './baseline.js';
import { MalformedInputError, FileUnreadableError } from '../../errors.js';

const base = { requests: 1000, errors: { timeout: 5 }, latencyMs: { p50: 2, p99: 10 }, requestsPerSecond: 500 };

test('a run within every threshold passes', () => {
  const c = compareWithBaseline('b.json', base, { requests: 1000, errors: { timeout: 10 }, latencyMs: { p50: 2.2, p99: 11 }, requestsPerSecond: 470 });
  assert.equal(c.verdict, 'pass');
  assert.equal(c.checks.length, 4);
  assert.ok(c.checks.every((check) => check.ok));
});

test('slower p99, lower throughput and more errors each regress on their own', () => {
  const slower = compareWithBaseline('b.json', base, { ...base, latencyMs: { p50: 2, p99: 13 } });
  assert.equal(slower.verdict, 'regressed');
  assert.deepEqual(slower.checks.filter((c) => !c.ok).map((c) => c.metric), ['latency p99']);
  const fewer = compareWithBaseline('b.json', base, { ...base, requestsPerSecond: 400 });
  assert.deepEqual(fewer.checks.filter((c) => !c.ok).map((c) => [c.metric, c.worseBy]), [['requests/s', 20]]);
  const failing = compareWithBaseline('b.json', base, { ...base, errors: { timeout: 5, refused: 20 } });
  assert.deepEqual(failing.checks.filter((c) => !c.ok).map((c) => [c.metric, c.worseBy]), [['error rate', 2]]);
});

test('thresholds are the caller\'s', () => {
  const c = compareWithBaseline('b.json', base, { ...base, requestsPerSecond: 400 }, { ...DEFAULT_THRESHOLDS, throughputPct: 25 });
  assert.equal(c.verdict, 'pass');
});

test('a baseline file that is not a bench result is refused with the field that is wrong', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-baseline-'));
  try {
    writeFileSync(join(dir, 'bad.json'), '{"requests": 3}');
    await assert.rejects(readBaseline(join(dir, 'bad.json')), (e: unknown) => e instanceof MalformedInputError && /errors/.test(e.message));
    writeFileSync(join(dir, 'junk.json'), 'not json');
    await assert.rejects(readBaseline(join(dir, 'junk.json')), MalformedInputError);
    await assert.rejects(readBaseline(join(dir, 'missing.json')), FileUnreadableError);
    writeFileSync(join(dir, 'ok.json'), JSON.stringify({ ...base, extra: true }));
    assert.equal((await readBaseline(join(dir, 'ok.json'))).requestsPerSecond, 500);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('server CPU per request is compared when both runs measured it', () => {
  const withCpu = { ...base, cpu: { serverUsPerRequest: 100 } };
  const costlier = compareWithBaseline('b.json', withCpu, { ...base, cpu: { serverUsPerRequest: 130 } });
  assert.deepEqual(costlier.checks.filter((c) => !c.ok).map((c) => [c.metric, c.worseBy]), [['server cpu/request', 30]]);
  assert.equal(compareWithBaseline('b.json', withCpu, { ...base, cpu: { serverUsPerRequest: 110 } }).verdict, 'pass');
  assert.equal(compareWithBaseline('b.json', base, { ...base, cpu: { serverUsPerRequest: 900 } }).checks.length, 4, 'not measured before: no check');
});
