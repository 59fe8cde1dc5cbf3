/**
 * What a guard plan proposes, from a guard report: which sources to ban (and for how long),
 * which listeners get per-source limits, and for a spoofed flood the SYN-cookie and backlog
 * settings instead of bans. Pure: the report and the sysctls in force in, the proposal out.
 *
 * - Attacking sources are banned from opening new connections (their SYNs dropped) for
 *   ban_timeout: a set element with a timeout, so the ban ends by itself (nft(8), SETS).
 * - Listeners reached by attacking or suspicious sources get per-source limits, set well above
 *   what the normal sources of the window used, so a suspicious source is slowed, not banned.
 * - A spoofed flood gets no bans (each forged address is used once: a ban never matches
 *   again, and a ban list of random addresses only grows): tcp_syncookies=1 answers without
 *   queueing, a larger tcp_max_syn_backlog keeps real handshakes in the queue, and fewer
 *   tcp_synack_retries (5 by default: 63 s) free each forged entry sooner (ip-sysctl.rst).
 */
import type { GuardReport, PlanBan, PlanLimit, PlanSysctl } from '../../model/guard.js';

export interface GuardProposalOptions {
  readonly banTimeoutMs: number;
  /** Per-source limits never go below these. */
  readonly minConnectionsPerSource: number;
  readonly minSynPerSecondPerSource: number;
  /** Sysctls in force now (name -> value). */
  readonly sysctls: Readonly<Record<string, string | null>>;
}

export interface GuardProposal {
  readonly bans: readonly PlanBan[];
  readonly limits: readonly PlanLimit[];
  readonly sysctls: readonly PlanSysctl[];
  readonly summary: readonly string[];
}

function portOf(listener: string): number | null {
  const m = /:(\d+)$/.exec(listener);
  return m === null ? null : Number(m[1]);
}

export function proposeGuard(report: GuardReport, options: GuardProposalOptions): GuardProposal {
  const summary: string[] = [];
  const sysctls: PlanSysctl[] = [];
  if (report.flood?.kind === 'spoofed') {
    const flood = report.flood;
    const evidence = `spoofed SYN flood: ${flood.sources} sources, ${Math.round(flood.seenOnceShare * 100)}% seen once, ${flood.halfOpenMax} half-open at once`;
    const cookies = options.sysctls['net.ipv4.tcp_syncookies'] ?? null;
    if (cookies !== '1' && cookies !== '2') {
      sysctls.push({ name: 'net.ipv4.tcp_syncookies', current: cookies, value: '1', reason: `${evidence}: cookies answer every SYN without a queue slot once the queue overflows`, whenNot: 'never needed off; 2 (cookies always) loses TCP options on every connection', finding: 'guard-flood' });
    }
    const backlog = Number(options.sysctls['net.ipv4.tcp_max_syn_backlog'] ?? '0');
    if (Number.isFinite(backlog) && backlog < 4096) {
      sysctls.push({ name: 'net.ipv4.tcp_max_syn_backlog', current: options.sysctls['net.ipv4.tcp_max_syn_backlog'] ?? null, value: String(Math.max(4096, backlog * 4)), reason: `${evidence}: a larger SYN queue keeps real clients' handshakes while forged ones wait out their timeout`, whenNot: 'on a host short of memory (each entry is a request sock, about 300 bytes); the listen() backlog and somaxconn still cap each listener', finding: 'guard-flood' });
    }
    const retries = Number(options.sysctls['net.ipv4.tcp_synack_retries'] ?? '5');
    if (Number.isFinite(retries) && retries > 2) {
      sysctls.push({ name: 'net.ipv4.tcp_synack_retries', current: options.sysctls['net.ipv4.tcp_synack_retries'] ?? null, value: '2', reason: `${evidence}: each forged entry is given up after 2 SYN-ACK retransmissions (about 7 s) instead of ${retries} (up to 63 s)`, whenNot: 'for clients on very lossy or long paths, whose real SYN-ACK may need more retransmissions', finding: 'guard-flood' });
    }
    summary.push(`${evidence}: no bans (forged addresses never come back); SYN cookies and queue settings instead`);
    return { bans: [], limits: [], sysctls, summary };
  }
  const bans: PlanBan[] = report.sources
    .filter((s) => s.verdict === 'attacking' && !s.allowlisted)
    .map((s) => ({ address: s.address, family: s.family, timeoutMs: options.banTimeoutMs, evidence: s.reasons.join('; ') }));
  for (const b of bans) summary.push(`ban ${b.address} from new connections for ${Math.round(b.timeoutMs / 1000)} s: ${b.evidence}`);
  // Limits on the listeners that abusive sources reached, above what normal sources used there.
  const ports = new Set<number>();
  for (const s of report.sources) {
    if (s.verdict === 'normal') continue;
    for (const l of s.listeners) {
      const port = portOf(l);
      if (port !== null) ports.add(port);
    }
  }
  const limits: PlanLimit[] = [...ports].sort((a, b) => a - b).map((port) => {
    const normal = report.sources.filter((s) => s.verdict === 'normal' && s.listeners.some((l) => portOf(l) === port));
    const usedConns = Math.max(0, ...normal.map((s) => s.metrics.perListenerMax));
    const usedRate = Math.max(0, ...normal.map((s) => s.metrics.synPerS));
    const maxConnectionsPerSource = Math.max(options.minConnectionsPerSource, usedConns * 4);
    const synPerSecondPerSource = Math.max(options.minSynPerSecondPerSource, Math.ceil(usedRate * 4));
    const abusive = report.sources.filter((s) => s.verdict !== 'normal' && s.listeners.some((l) => portOf(l) === port)).map((s) => `${s.address} ${s.verdict}`);
    return { port, maxConnectionsPerSource, synPerSecondPerSource, evidence: `${abusive.join(', ')}; normal sources used at most ${usedConns} connections and ${usedRate} new/s` };
  });
  for (const l of limits) summary.push(`limit each source on port ${l.port} to ${l.maxConnectionsPerSource} connections and ${l.synPerSecondPerSource} new connections/s (${l.evidence})`);
  if (report.flood?.kind === 'real') summary.push(`a SYN flood from real sources: ${report.flood.reasons.join('; ')}`);
  if (bans.length === 0 && limits.length === 0) summary.push('no source is abusive: the plan changes nothing');
  return { bans, limits, sysctls, summary };
}
