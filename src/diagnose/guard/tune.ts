/**
 * The sysctl changes a tune plan proposes, drawn from diagnosis findings: every advice that
 * carries a `sysctl -w NAME=VALUE` command (diagnose/advice.ts sysctlAdvice) becomes one change
 * with the value in force, the value suggested, the finding's reason and when not to apply it.
 * Pure: findings in, changes out. Two findings on one sysctl keep the first (the most severe:
 * findings come sorted by severity).
 */
import type { Finding } from '../../model/finding.js';
import type { PlanSysctl } from '../../model/guard.js';

/**
 * When not to apply each setting the rules suggest, from ip-sysctl.rst and the kernel sources;
 * a name without an entry falls back to what its advice says.
 */
const WHEN_NOT: Readonly<Record<string, string>> = {
  'net.ipv4.tcp_tw_reuse': 'when the peers do not send TCP timestamps (tcp_timestamps=0 on either end): reuse is only safe with PAWS (RFC 7323)',
  'net.ipv4.ip_local_port_range': 'when a service listens on a port inside the new range (reserve it with ip_local_reserved_ports first)',
  'net.core.somaxconn': 'when the application itself asks for a small backlog (raising the cap changes nothing), or to hide an acceptor that is always too slow',
  'net.ipv4.tcp_syncookies': 'never off on a host that takes connections from the internet; 2 (always) loses window scaling and SACK without timestamps',
  'net.ipv4.tcp_max_syn_backlog': 'on a host short of memory: each entry is a request sock',
  'net.ipv4.tcp_mtu_probing': 'when the path MTU is known and ICMP "fragmentation needed" arrives: probing then only costs a little throughput',
  'net.ipv4.tcp_max_tw_buckets': 'as a fix for a client that opens a connection per request: pool the connections instead',
  'net.ipv4.tcp_fin_timeout': 'below 10 s: a slow peer\'s FIN may arrive after the orphan is gone and get a reset',
  'net.ipv4.tcp_keepalive_time': 'when the peers are billed per packet (mobile) or a NAT in the path keeps idle state longer than the new value anyway',
};

const SYSCTL_COMMAND = /^sysctl -w ([a-z0-9_.-]+)=("?)(.+)\2$/;

export function sysctlChangesFromFindings(findings: readonly Finding[]): PlanSysctl[] {
  const out = new Map<string, PlanSysctl>();
  for (const f of findings) {
    for (const a of f.advice) {
      const m = a.command === undefined ? null : SYSCTL_COMMAND.exec(a.command);
      if (m === null) continue;
      const name = m[1]!;
      const value = a.suggested ?? m[3]!;
      if (out.has(name)) continue;
      const current = a.current === undefined || a.current === 'absent on this kernel' ? null : a.current;
      if (current !== null && current.replace(/\s+/g, ' ') === value.replace(/\s+/g, ' ')) continue;
      out.set(name, { name, current, value, reason: `${f.title} (${f.id}): ${a.text}`, whenNot: WHEN_NOT[name] ?? `see the advice: ${a.text}`, finding: f.id });
    }
  }
  return [...out.values()];
}
