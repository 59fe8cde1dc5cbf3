import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRunning, ownedProcesses, pidOfTracefsInstance, staleTracefsInstances } from './owners.js';

function fakeProc(processes: Record<number, { stat: string; environ?: string; cmdline?: string }>): string {
  const root = mkdtempSync(join(tmpdir(), 'tcpdiag-proc-'));
  for (const [pid, p] of Object.entries(processes)) {
    mkdirSync(join(root, pid));
    writeFileSync(join(root, pid, 'stat'), p.stat);
    if (p.environ !== undefined) writeFileSync(join(root, pid, 'environ'), p.environ);
    writeFileSync(join(root, pid, 'cmdline'), p.cmdline ?? '');
  }
  return root;
}

test('a zombie is not running, and a comm with spaces and parentheses does not confuse the state', () => {
  const root = fakeProc({
    10: { stat: '10 (node) S 1 10 10 0' },
    11: { stat: '11 (a) Z (b) Z 1 11 11 0'.replace('Z (b) Z', ') S') },
    12: { stat: '12 (tcpdump) Z 1 12 12 0' },
    13: { stat: '13 (weird) (name) R 1 13 13 0' },
  });
  try {
    assert.equal(isRunning(10, root), true);
    assert.equal(isRunning(11, root), true);
    assert.equal(isRunning(12, root), false, 'zombie');
    assert.equal(isRunning(13, root), true);
    assert.equal(isRunning(14, root), false, 'no such pid');
    assert.equal(isRunning(0, root), false);
    assert.equal(isRunning(process.pid), true, 'this process, in the real /proc');
  } finally {
    rmSync(root, { recursive: true });
  }
});

test('owned processes are found by TCPDIAG_PARENT in their environment, zombies left out', () => {
  const root = fakeProc({
    20: { stat: '20 (tcpdump) S 1', environ: 'PATH=/bin\0TCPDIAG_PARENT=77\0HOME=/\0', cmdline: '/usr/bin/tcpdump\0-i\0lo\0' },
    21: { stat: '21 (sh) Z 1', environ: 'TCPDIAG_PARENT=77\0' },
    22: { stat: '22 (bash) S 1', environ: 'XTCPDIAG_PARENT=77\0TCPDIAG_PARENTS=1\0' },
    23: { stat: '23 (bpftrace) S 1', environ: 'TCPDIAG_PARENT=78' },
  });
  try {
    assert.deepEqual(ownedProcesses(root), [
      { pid: 20, ownerPid: 77, command: '/usr/bin/tcpdump -i lo' },
      { pid: 23, ownerPid: 78, command: '' },
    ]);
  } finally {
    rmSync(root, { recursive: true });
  }
});

test('stale tracefs instances are tcpdiag-PID[-N] whose pid no longer runs; other names are left alone', () => {
  const tracefs = mkdtempSync(join(tmpdir(), 'tcpdiag-tracefs-'));
  const proc = fakeProc({ 30: { stat: '30 (node) S 1' }, 31: { stat: '31 (node) Z 1' } });
  try {
    for (const name of ['tcpdiag-30', 'tcpdiag-31', 'tcpdiag-31-2', 'tcpdiag-32', 'tcpdiag-x', 'other']) mkdirSync(join(tracefs, 'instances', name), { recursive: true });
    assert.deepEqual(staleTracefsInstances(tracefs, proc).map((i) => [i.name, i.pid]).sort(), [['tcpdiag-31', 31], ['tcpdiag-31-2', 31], ['tcpdiag-32', 32]]);
    assert.deepEqual(staleTracefsInstances(join(tracefs, 'missing'), proc), []);
    assert.equal(pidOfTracefsInstance('tcpdiag-12-3'), 12);
    assert.equal(pidOfTracefsInstance('tcpdiag-'), null);
  } finally {
    rmSync(tracefs, { recursive: true });
    rmSync(proc, { recursive: true });
  }
});
