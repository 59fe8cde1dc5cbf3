import assert from 'node:assert/strict';
import test from 'node:test';
import type { DiagnosisReport } from '../../model/diagnosis.js';
import { formatDiagnosis, wrap } from './report-text.js';

const report: DiagnosisReport = {
  score: 85,
  scoreLoweredBy: [{ id: 'close-wait-leak', subject: 'api[4242]', severity: 'warning', points: 15 }],
  window: { start: '2025-01-02T03:04:05.000Z', end: '2025-01-02T03:04:15.000Z', durationMs: 10_000 },
  scope: { expression: 'sport = :8080 or dport = :8080', families: [], pids: [], process: null },
  findings: [{
    id: 'close-wait-leak',
    severity: 'warning',
    title: 'api (pid 4242) does not close 12 sockets the peer closed (CLOSE_WAIT)',
    subject: 'api[4242]',
    explanation: 'The peers sent FIN, so the kernel put these sockets in CLOSE_WAIT and is waiting for the application to call close().',
    evidence: { process: { pid: 4242, process: 'api' }, count: 12, peers: [], listener: null },
    advice: [
      { text: 'Fix api: close the socket when a read returns 0.' },
      { text: 'Raise the limit.', command: 'prlimit --pid 4242 --nofile=65536:65536', current: '1024:4096', suggested: '65536' },
    ],
    source: 'diagnose',
    atMs: 0,
    logLines: [{ origin: '/var/log/api.log', text: 'accept: too many open files', atMs: null }],
  }],
  checked: [
    { id: 'close-wait-leak', status: 'fired', value: 12, threshold: 5, measure: 'stuck sockets' },
    { id: 'conn-refused', status: 'skipped', reason: 'kernel events need root', hint: 'sudo tcpdiag diagnose' },
  ],
  system: {
    host: { cpus: 2, cpuPercent: 12.5, loadAverage1m: 0.5, memTotalBytes: 8 * 1024 ** 3, memAvailableBytes: 6 * 1024 ** 3, fileHandlesAllocated: 900, fileHandlesMax: 100000 },
    processes: [{ pid: 4242, process: 'api', openFds: 40, fdLimitSoft: 1024, fdLimitHard: 4096, cpuPercent: 3.1, rssBytes: 50 * 1024 * 1024, threads: 7 }],
  },
  logs: [{ origin: '/var/log/api.log', status: 'read', lines: 3 }, { origin: 'journal:api', status: 'skipped', reason: 'journalctl found no journal on this host', hint: 'pass --log FILE' }],
  issues: [{ code: 'TCPDIAG_NEEDS_ROOT', message: 'other users\' processes cannot be read', hint: 'run with sudo' }],
};

test('the text report shows the score, findings with evidence and advice, every rule checked, the system and the logs', () => {
  assert.equal(formatDiagnosis(report), `health 85/100  (window 2025-01-02T03:04:05.000Z, 10 s; sport = :8080 or dport = :8080)
  lowered by: close-wait-leak -15 (api[4242])

WARNING  close-wait-leak  api (pid 4242) does not close 12 sockets the peer closed (CLOSE_WAIT)
  The peers sent FIN, so the kernel put these sockets in CLOSE_WAIT and is waiting for the
  application to call close().
  evidence:
    process: {"pid":4242,"process":"api"}
    count: 12
  advice:
    - Fix api: close the socket when a read returns 0.
    - Raise the limit.
      $ prlimit --pid 4242 --nofile=65536:65536   (now 1024:4096, suggested 65536)
  log lines (1):
    /var/log/api.log: accept: too many open files

checked:
  fired    close-wait-leak  12 vs 5: stuck sockets
  skipped  conn-refused     kernel events need root (sudo tcpdiag diagnose)

system:
  host: 2 CPUs, 12.5% busy, load 0.5, memory 6.0 GiB available of 8.0 GiB, file handles 900 of 100000
  pid 4242 api: cpu 3.1%, rss 50.0 MiB, threads 7, fds 40 of 1024

logs:
  /var/log/api.log: 3 lines from the window
  journal:api: skipped: journalctl found no journal on this host (pass --log FILE)

degraded:
  - other users' processes cannot be read (run with sudo)
`);
});

test('a healthy report says so', () => {
  const text = formatDiagnosis({ ...report, score: 100, scoreLoweredBy: [], findings: [], logs: [], issues: [], system: { host: null, processes: [] } });
  assert.match(text, /^health 100\/100 {2}\(window [^)]+\)\n\nno findings\n\nchecked:\n/);
  assert.doesNotMatch(text, /system:/, 'nothing to show of the host (a capture\'s diagnosis)');
});

test('wrap keeps words whole within 100 columns', () => {
  const lines = wrap('word '.repeat(60), '  ');
  assert.ok(lines.every((l) => l.length <= 100));
  assert.equal(lines.join(' ').split(/\s+/).filter((w) => w !== '').length, 60);
});
