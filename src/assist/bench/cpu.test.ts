import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProcStatCpuMs, processCpuMs, sampleCpu } from './cpu.js';
import { UsageError } from '../../errors.js';

test('utime + stime are read past a command name holding spaces and parentheses', () => {
  // Fields 14 and 15 are 250 and 50 ticks: 3000 ms at USER_HZ 100.
  const line = '4242 (my (weird) server) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 4 0 12345 1000 200';
  assert.equal(parseProcStatCpuMs(line), 3000);
  assert.equal(parseProcStatCpuMs('garbage'), null);
});

test('the CPU of a live process grows while it works; a missing one is a usage error', () => {
  const before = processCpuMs(process.pid);
  const until = Date.now() + 60;
  while (Date.now() < until) Math.sqrt(Math.random());
  assert.ok(processCpuMs(process.pid) >= before);
  assert.throws(() => processCpuMs(2 ** 22 + 7), UsageError);
  const sample = sampleCpu(null);
  assert.ok(sample.clientMs > 0);
  assert.equal(sample.serverMs, null);
});
