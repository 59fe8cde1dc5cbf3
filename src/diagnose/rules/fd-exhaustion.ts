/**
 * fd-exhaustion: a process near its open-files limit (and the host near fs.file-max).
 *
 * Why it fires: every socket is a file descriptor, and a process cannot hold more than its
 * RLIMIT_NOFILE soft limit (getrlimit(2); "Max open files" in /proc/PID/limits). At the limit
 * accept() and socket() fail with EMFILE ("Too many open files") and the listener's accept queue
 * fills while the process cannot take connections; the host-wide ceiling fs.file-max gives
 * ENFILE (Documentation/admin-guide/sysctl/fs.rst). Judged at capacity_percent of the limit,
 * on the processes that own TCP sockets (or those named with --pid), with their sockets counted.
 */
import { plural, commandAdvice, textAdvice } from '../advice.js';
import type { FindingDraft, Rule } from '../rule.js';
import { percent } from '../view.js';

export const fdExhaustion: Rule = {
  id: 'fd-exhaustion',
  summary: 'processes near their open-files limit (RLIMIT_NOFILE), sockets counted; the host near fs.file-max',
  needs: ['processes'],
  logPatterns: [/too many open files|EMFILE|ENFILE/i],
  evaluate({ view, facts, thresholds }) {
    const sockets = new Map<number, number>();
    for (const s of facts.sockets?.end ?? []) for (const o of s.owners) sockets.set(o.pid, (sockets.get(o.pid) ?? 0) + 1);
    const inScope = new Set<number>();
    if (view.scoped) for (const s of view.end) for (const o of s.owners) inScope.add(o.pid);
    const candidates = (facts.processes ?? []).filter((p) => !view.scoped || inScope.has(p.pid) || (facts.scope.pids ?? []).includes(p.pid));
    const findings: FindingDraft[] = [];
    let worst = 0;
    for (const p of candidates) {
      if (p.openFds === null || p.fdLimitSoft === null || p.fdLimitSoft <= 0) continue;
      const used = percent(p.openFds, p.fdLimitSoft);
      worst = Math.max(worst, used);
      if (used < thresholds.capacity_percent) continue;
      const socketCount = sockets.get(p.pid) ?? 0;
      const hardRoom = p.fdLimitHard !== null && p.fdLimitHard > p.fdLimitSoft;
      const suggested = Math.min(Math.max(p.fdLimitSoft * 4, 65536), p.fdLimitHard !== null && p.fdLimitHard > 0 ? Math.max(p.fdLimitHard, 65536) : 1048576);
      findings.push({
        severity: used >= 95 ? 'critical' : 'warning',
        title: `${p.process} (pid ${p.pid}) holds ${p.openFds} of ${p.fdLimitSoft} open files (${used}%), ${plural(socketCount, 'TCP socket')}`,
        subject: `${p.process}[${p.pid}]`,
        explanation:
          `Every socket is a file descriptor, and ${p.process} may hold at most ${p.fdLimitSoft} (its RLIMIT_NOFILE soft limit${hardRoom ? `; the hard limit is ${p.fdLimitHard}` : ''}). ` +
          `At the limit accept() and connect() fail with EMFILE ("Too many open files"): new connections wait in the accept queue or are refused while old ones keep working. ` +
          `${socketCount} of its ${p.openFds} descriptors are TCP sockets.`,
        evidence: {
          process: { pid: p.pid, process: p.process },
          openFds: p.openFds,
          fdLimitSoft: p.fdLimitSoft,
          fdLimitHard: p.fdLimitHard,
          usedPercent: used,
          tcpSockets: socketCount,
        },
        advice: [
          { text: `Raise the limit of the running process (takes effect at once, up to the hard limit unless run as root).`, command: `prlimit --pid ${p.pid} --nofile=${suggested}:${Math.max(suggested, p.fdLimitHard ?? 0)}`, current: `${p.fdLimitSoft}:${p.fdLimitHard ?? '?'}`, suggested: `${suggested}` },
          textAdvice('Make it permanent where the service starts: LimitNOFILE= in its systemd unit, `ulimit -n` in its start script, or nofile in /etc/security/limits.conf.'),
          textAdvice('If its count keeps growing under steady load it is a leak (see close-wait-leak): a higher limit only postpones the failure.'),
        ],
      });
    }
    const allocated = facts.host?.fileHandlesAllocated ?? null;
    const max = facts.host?.fileHandlesMax ?? null;
    if (allocated !== null && max !== null && max > 0 && percent(allocated, max) >= thresholds.capacity_percent) {
      findings.push({
        severity: percent(allocated, max) >= 95 ? 'critical' : 'warning',
        title: `The host has ${allocated} of ${max} file handles allocated (fs.file-max, ${percent(allocated, max)}%)`,
        subject: 'host',
        explanation: 'Every open file and socket on the host takes a handle from fs.file-max; at the limit every process gets ENFILE.',
        evidence: { fileHandlesAllocated: allocated, fileMax: max, usedPercent: percent(allocated, max) },
        advice: [commandAdvice('Raise the host-wide limit (and find the process that holds them):', `sysctl -w fs.file-max=${max * 2}`)],
      });
    }
    return { value: worst, threshold: thresholds.capacity_percent, measure: '% of its open-files limit used by the fullest process', findings };
  },
};
