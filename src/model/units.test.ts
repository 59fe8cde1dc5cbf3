import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TcpdiagError } from '../errors.js';
import { MAX_DURATION_MS, formatDurationMs, parseDecimalInteger, parseDecimalNumber, parseDurationMs, parseSizeBytes } from './units.js';
import { BYTES, MSS, PORT, REQUEST_RATE } from './limits.js';

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error: unknown) {
    assert.ok(error instanceof TcpdiagError, `expected a TcpdiagError, got ${String(error)}`);
    assert.equal(error.code, 'TCPDIAG_USAGE');
    return error.message;
  }
  assert.fail('expected a refusal');
}

test('a bare number is seconds, and every unit means the same everywhere', () => {
  assert.equal(parseDurationMs('500'), 500_000);
  assert.equal(parseDurationMs('0.5'), 500);
  assert.equal(parseDurationMs('500ms'), 500);
  assert.equal(parseDurationMs('10s'), 10_000);
  assert.equal(parseDurationMs('2m'), 120_000);
  assert.equal(parseDurationMs('1h'), 3_600_000);
  assert.equal(parseDurationMs('1h30m'), 5_400_000);
  assert.equal(parseDurationMs('1M'), 60_000);
});

test('durations past the 2^31 ms timer limit are accepted up to 10000h and refused beyond', () => {
  assert.equal(parseDurationMs('9999h'), 9999 * 3_600_000);
  assert.equal(parseDurationMs('10000h'), MAX_DURATION_MS);
  assert.match(refusal(() => parseDurationMs('10001h')), /out of range: expected 1ms-10000h/);
});

test('a duration of zero, a negative one, inf and nan are refused and named', () => {
  assert.match(refusal(() => parseDurationMs('0')), /out of range/);
  assert.match(refusal(() => parseDurationMs('-5s')), /negative/);
  assert.match(refusal(() => parseDurationMs('inf')), /infinite/);
  assert.match(refusal(() => parseDurationMs('nan')), /not a number \(NaN\)/);
  assert.match(refusal(() => parseDurationMs('1e3')), /exponent/);
  assert.match(refusal(() => parseDurationMs('10 parsecs')), /not a duration: write 500ms/);
  assert.equal(parseDurationMs('0', { minMs: 1, maxMs: 10, allowZero: true }), 0);
});

test('ports, PIDs and counts take decimal digits only', () => {
  assert.equal(parseDecimalInteger('80', PORT), 80);
  assert.match(refusal(() => parseDecimalInteger('0x50', PORT)), /hexadecimal/);
  assert.match(refusal(() => parseDecimalInteger('1e3', PORT)), /exponent/);
  assert.match(refusal(() => parseDecimalInteger('99999999999999999999', PORT)), /out of range: a TCP port is 1-65535/);
  assert.match(refusal(() => parseDecimalInteger('80.0', PORT)), /not a decimal integer/);
  assert.match(refusal(() => parseDecimalInteger('+80', PORT)), /not a decimal integer/);
  assert.match(refusal(() => parseDecimalInteger('', PORT)), /not a decimal integer/);
  assert.match(refusal(() => parseDecimalInteger('70000', PORT)), /out of range/);
});

test('the MSS range is the kernel\'s TCP_MIN_MSS to MAX_TCP_WINDOW', () => {
  assert.equal(parseDecimalInteger('88', MSS), 88);
  assert.equal(parseDecimalInteger('32767', MSS), 32767);
  assert.match(refusal(() => parseDecimalInteger('32768', MSS)), /88-32767/);
  assert.match(refusal(() => parseDecimalInteger('87', MSS)), /88-32767/);
});

test('numbers with a fraction, and a rate that must be more than 0 and is capped', () => {
  assert.equal(parseDecimalNumber('2.5', REQUEST_RATE), 2.5);
  assert.match(refusal(() => parseDecimalNumber('0', REQUEST_RATE)), /more than 0, at most 1000000/);
  assert.match(refusal(() => parseDecimalNumber('1e300', REQUEST_RATE)), /exponent/);
  assert.match(refusal(() => parseDecimalNumber('Infinity', REQUEST_RATE)), /infinite/);
});

test('sizes are binary multiples within their range', () => {
  assert.equal(parseSizeBytes('64k', BYTES), 65536);
  assert.equal(parseSizeBytes('10MB', BYTES), 10 * 1024 * 1024);
  assert.equal(parseSizeBytes('1GiB', BYTES), 1024 ** 3);
  assert.match(refusal(() => parseSizeBytes('2G', BYTES)), /out of range: a size in bytes is 1-1G/);
  assert.match(refusal(() => parseSizeBytes('lots', BYTES)), /not a size/);
});

test('a 10 MB bad value is echoed clipped, not in full', () => {
  const huge = 'x'.repeat(10 * 1024 * 1024);
  for (const parse of [() => parseDecimalInteger(huge, PORT), () => parseDurationMs(huge), () => parseSizeBytes(huge, BYTES)]) {
    const message = refusal(parse);
    assert.ok(message.length < 300, `message of ${message.length} characters`);
    assert.match(message, /\(10485760 characters\)/);
  }
});

test('formatDurationMs writes round values back in their unit', () => {
  assert.equal(formatDurationMs(250), '250 ms');
  assert.equal(formatDurationMs(1500), '1.5 s');
  assert.equal(formatDurationMs(5_400_000), '1 h 30 m');
});
