import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import test from 'node:test';
import { parseOpenFilesLimit, parseProcStatCpu, parseStatCpuMs, parseStatus, readHostSample, readIcmpCounters, readProcessSample } from './resources.js';

// Lines as this machine's /proc prints them (kernel 6.18).
const STAT = '12703 (cat) R 12699 12699 16557 0 -1 4194304 126 0 0 0 7 3 0 0 20 0 1 0 245524 3133440 411 18446744073709551615';

test('utime + stime come from fields 14 and 15, in USER_HZ ticks, whatever the name holds', () => {
  assert.equal(parseStatCpuMs(STAT), 100);
  assert.equal(parseStatCpuMs(STAT.replace('(cat)', '(a) b (c)')), 100, 'a name with spaces and parentheses');
  assert.equal(parseStatCpuMs('garbage'), null);
});

test('the open-files limit, soft and hard, and unlimited as null', () => {
  assert.deepEqual(parseOpenFilesLimit('Max cpu time              unlimited            unlimited            seconds   \nMax open files            20000                20000                files     \n'), { soft: 20000, hard: 20000 });
  assert.deepEqual(parseOpenFilesLimit('Max open files            unlimited            unlimited            files     \n'), { soft: null, hard: null });
});

test('VmRSS and Threads from status; host CPU busy and total from /proc/stat', () => {
  assert.deepEqual(parseStatus('Name:\tcat\nVmRSS:\t    2176 kB\nThreads:\t1\n'), { rssBytes: 2176 * 1024, threads: 1 });
  assert.deepEqual(parseProcStatCpu('cpu  155442 2466 16556 313612 354 0 1431 243 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n'), { busy: 155442 + 2466 + 16556 + 1431 + 243, total: 155442 + 2466 + 16556 + 313612 + 354 + 1431 + 243 });
});

test('this process, read live: its fds, its limit and its CPU time', () => {
  const sample = readProcessSample(process.pid);
  assert.ok(sample);
  assert.equal(sample.pid, process.pid);
  assert.ok(sample.openFds !== null && Math.abs(sample.openFds - (readdirSync('/proc/self/fd').length - 1)) <= 2);
  assert.ok(sample.fdLimitSoft !== null && sample.fdLimitSoft > 0);
  assert.ok(sample.cpuMs !== null && sample.cpuMs > 0);
  assert.ok(sample.rssBytes !== null && sample.rssBytes > 1024 * 1024);
  assert.equal(readProcessSample(2 ** 22 + 1), null, 'a pid that does not exist');
});

test('the host and the ICMP counters, read live', () => {
  const host = readHostSample();
  assert.ok(host.cpus >= 1 && host.cpuTotalTicks !== null && host.memTotalBytes !== null && host.fileHandlesMax !== null);
  const icmp = readIcmpCounters();
  assert.equal(typeof icmp.IcmpInDestUnreachs, 'number');
  assert.equal(typeof icmp.Icmp6InPktTooBigs, 'number');
});
