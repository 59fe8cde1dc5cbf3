import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseLimits } from './limits.js';

// /proc/PID/limits as Linux 6.x prints it (fs/proc/base.c proc_pid_limits).
const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            20000                20000                files
Max locked memory         8388608              8388608              bytes
`;

test('RLIMIT_NOFILE is read from the "Max open files" line; unlimited is null', () => {
  assert.deepEqual(parseLimits(LIMITS), { soft: 20000, hard: 20000 });
  assert.deepEqual(parseLimits(LIMITS.replace('20000                20000', '1024                 unlimited')), { soft: 1024, hard: null });
  assert.deepEqual(parseLimits(''), { soft: null, hard: null });
});
