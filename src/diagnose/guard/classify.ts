/**
 * Verdicts on the sources a guard window saw, and on a flood as a whole. Pure: fingerprints,
 * counter deltas and thresholds in, verdicts with their reasons and numbers out.
 *
 * Why these signs, and why volume alone is not one:
 * - Slow-connection attacks (slowloris, slow POST) hold many connections that completed their
 *   handshake and then send almost nothing, so the server's workers or file descriptors run out;
 *   slowloris opens 150 by default. One address with that many idle connections is attacking.
 * - A SYN flood from real addresses leaves request sockets (SYN_RECV) whose handshake never
 *   completes: the source ignores our SYN-ACKs. Its completion ratio stays near zero.
 * - A spoofed flood shows many addresses, each seen once, none of which ever ACKs (the SYN-ACKs
 *   go to hosts that never sent the SYN). Banning them is useless (the next SYN has another
 *   address); SYN cookies answer without keeping state (net/ipv4/syncookies.c, RFC 4987 3.6).
 * - NAT gateways, CDNs and proxies send many connections from one address, but they complete
 *   their handshakes and move data: they are judged by the same idle and half-open signs, never
 *   by their count alone. An address in guard.allowlist is normal whatever it does.
 */
import type { Cidr } from '../../model/address.js';
import { cidrContains } from '../../model/address.js';
import type { FloodReport, GuardVerdict, SourceReport } from '../../model/guard.js';
import type { FingerprintResult, SourceFingerprint } from '../../analysis/guard/fingerprint.js';

export interface GuardThresholds {
  /** Idle connections one source holds before it is attacking (half of it: suspicious). */
  readonly idle_connections_attack: number;
  /** Request sockets (SYN_RECV) one source holds at once before it is attacking. */
  readonly half_open_attack: number;
  /** New connections per second from one source that, with few completing, are a flood. */
  readonly syn_rate_attack: number;
  /** Below this completion ratio a source's SYNs are not real clients'. */
  readonly completion_min: number;
  /** Concurrent connections of one source above which, if it is not steady, it is suspicious. */
  readonly connections_suspicious: number;
  /** Bytes per connection above which a source moves data (a NAT, CDN or proxy, not an idle holder). */
  readonly active_min_bytes: number;
  /** Request sockets over all sources that make a flood. */
  readonly flood_half_open: number;
  /** Distinct never-completing sources before a flood can be spoofed. */
  readonly spoofed_min_sources: number;
  /** Share (0-1) of those seen only once before it is spoofed. */
  readonly spoofed_seen_once_share: number;
}

export interface FloodCounters {
  readonly syncookiesSent: number;
  readonly reqQueueFullDrops: number;
  readonly listenOverflows: number;
}

function pct(ratio: number | null): string {
  return ratio === null ? 'n/a' : `${Math.round(ratio * 1000) / 10}%`;
}

export function classifySource(fp: SourceFingerprint, t: GuardThresholds, allowlist: readonly Cidr[]): SourceReport {
  const m = fp.metrics;
  const allowed = allowlist.find((c) => cidrContains(c, fp.address));
  // The contract's order: address, verdict, reasons, metrics.
  const report = (verdict: GuardVerdict, reasons: readonly string[], allowlisted: boolean): SourceReport =>
    ({ address: fp.address, family: fp.family, verdict, reasons, metrics: m, listeners: fp.listeners, allowlisted });
  if (allowed !== undefined) return report('normal', [`in guard.allowlist (${allowed.text}): never judged`], true);
  const attacking: string[] = [];
  const suspicious: string[] = [];
  const lowCompletion = m.completionRatio !== null && m.completionRatio < t.completion_min;
  if (m.idleConnections >= t.idle_connections_attack) {
    attacking.push(`holds ${m.idleConnections} idle connections (>= ${t.idle_connections_attack}; median idle ${Math.round((m.idleMsMedian ?? 0) / 100) / 10} s, ${m.bytesPerConnection ?? 0} bytes per connection): a slow-connection attack`);
  } else if (m.idleConnections >= Math.ceil(t.idle_connections_attack / 2)) {
    suspicious.push(`holds ${m.idleConnections} idle connections (attacking at ${t.idle_connections_attack})`);
  }
  if (m.halfOpenMax >= t.half_open_attack && lowCompletion) {
    attacking.push(`${m.halfOpenMax} half-open connections at once (>= ${t.half_open_attack}) with ${pct(m.completionRatio)} of handshakes completed: a SYN flood`);
  } else if (m.halfOpenMax >= Math.ceil(t.half_open_attack / 2)) {
    suspicious.push(`${m.halfOpenMax} half-open connections at once (attacking at ${t.half_open_attack})`);
  }
  if (m.synPerS >= t.syn_rate_attack && lowCompletion) {
    attacking.push(`${m.synPerS} new connections/s (>= ${t.syn_rate_attack}) with ${pct(m.completionRatio)} completed`);
  } else if (m.synPerS >= t.syn_rate_attack / 2 && lowCompletion) {
    suspicious.push(`${m.synPerS} new connections/s with ${pct(m.completionRatio)} completed`);
  }
  const steady = !lowCompletion && (m.bytesPerConnection ?? 0) >= t.active_min_bytes && m.idleConnections < Math.ceil(t.idle_connections_attack / 2);
  if (attacking.length === 0 && m.concurrentMax >= t.connections_suspicious && !steady) {
    suspicious.push(`${m.concurrentMax} concurrent connections (>= ${t.connections_suspicious}) moving ${m.bytesPerConnection ?? 0} bytes each`);
  }
  const verdict: GuardVerdict = attacking.length > 0 ? 'attacking' : suspicious.length > 0 ? 'suspicious' : 'normal';
  const reasons = attacking.length > 0 ? attacking : suspicious;
  if (verdict === 'normal') {
    reasons.push(steady && m.concurrentMax >= t.connections_suspicious
      ? `${m.concurrentMax} concurrent connections, but ${pct(m.completionRatio)} of handshakes complete and each moves ${m.bytesPerConnection} bytes: a NAT, CDN or proxy, not an attacker`
      : `${m.connections} connections, ${pct(m.completionRatio)} completed, ${m.idleConnections} idle: nothing abnormal`);
  }
  return report(verdict, reasons, false);
}

const VERDICT_RANK: Readonly<Record<GuardVerdict, number>> = { attacking: 0, suspicious: 1, normal: 2 };

/** Every source, the worst first, then by address. */
export function classifySources(result: FingerprintResult, t: GuardThresholds, allowlist: readonly Cidr[]): SourceReport[] {
  return result.sources
    .map((fp) => classifySource(fp, t, allowlist))
    .sort((a, b) => VERDICT_RANK[a.verdict] - VERDICT_RANK[b.verdict] || b.metrics.connections - a.metrics.connections || (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

/**
 * A flood: many request sockets at once, or the kernel answering with SYN cookies or dropping
 * SYNs on a full queue (SyncookiesSent, TCPReqQFullDrop: tcp_conn_request(), net/ipv4/tcp_input.c).
 * Spoofed when many distinct sources never completed a handshake and nearly all were seen once.
 */
export function classifyFlood(result: FingerprintResult, counters: FloodCounters, t: GuardThresholds, allowlist: readonly Cidr[]): FloodReport | null {
  const windowS = Math.max(0.001, (result.endMs - result.startMs) / 1000);
  const involved = result.sources.filter((s) => s.metrics.halfOpenOnly > 0 && !allowlist.some((c) => cidrContains(c, s.address)));
  const flooding = result.halfOpenMax >= t.flood_half_open || counters.syncookiesSent > 0 || counters.reqQueueFullDrops > 0;
  if (!flooding || involved.length === 0) return null;
  const seenOnce = involved.filter((s) => s.seenOnce).length;
  const completed = involved.reduce((n, s) => n + s.metrics.completed, 0);
  const halfOpen = involved.reduce((n, s) => n + s.metrics.halfOpenOnly, 0);
  const newConns = involved.reduce((n, s) => n + s.metrics.newConnections, 0);
  const share = seenOnce / involved.length;
  const spoofed = involved.length >= t.spoofed_min_sources && share >= t.spoofed_seen_once_share && completed === 0;
  const reasons = [
    `${result.halfOpenMax} half-open connections at once (flood at ${t.flood_half_open})`,
    `${involved.length} sources with handshakes that never completed, ${Math.round(share * 100)}% of them seen once`,
    `${completed} of their handshakes completed`,
  ];
  if (counters.syncookiesSent > 0) reasons.push(`the kernel sent ${counters.syncookiesSent} SYN cookies (its SYN queue overflowed)`);
  if (counters.reqQueueFullDrops > 0) reasons.push(`${counters.reqQueueFullDrops} SYNs dropped on a full SYN queue`);
  reasons.push(spoofed
    ? 'spoofed: the addresses are forged (many, each once, none answers our SYN-ACK), so bans cannot stop it; SYN cookies can'
    : `real: ${involved.length < t.spoofed_min_sources ? `few sources (${involved.length} < ${t.spoofed_min_sources})` : completed > 0 ? 'some handshakes complete' : 'sources repeat'}, so per-source limits and bans work`);
  return {
    kind: spoofed ? 'spoofed' : 'real',
    reasons,
    sources: involved.length,
    seenOnceShare: Math.round(share * 1000) / 1000,
    halfOpenMax: result.halfOpenMax,
    completionRatio: halfOpen + completed === 0 ? null : Math.round((completed / (halfOpen + completed)) * 1000) / 1000,
    synPerS: Math.round((newConns / windowS) * 100) / 100,
    syncookiesSent: counters.syncookiesSent,
    reqQueueFullDrops: counters.reqQueueFullDrops,
    listenOverflows: counters.listenOverflows,
    listeners: [...new Set(involved.flatMap((s) => s.listeners))].sort(),
  };
}
