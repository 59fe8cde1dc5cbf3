/**
 * The nftables ruleset of a guard plan, in tcpdiag's own table (`inet tcpdiag_guard`), built
 * from validated addresses and numbers only: nothing a source address or a plan file holds can
 * inject nft syntax (addresses must parse as IP addresses, comments keep a safe alphabet).
 * Pure.
 *
 * - Bans are elements of a set with `flags timeout`: each one disappears at its timeout by
 *   itself, and the kernel stops matching it at expiry (nft_set_elem_expired on lookup), so a
 *   ban cannot outlive its time even if tcpdiag never runs again. Only connection attempts
 *   (SYN without ACK) are dropped: connections the source already holds are left to the
 *   service, and a banned address can still be answered.
 * - Per-source limits are dynamic sets keyed by the source address: `ct count over N` counts
 *   the source's tracked connections (nf_conncount: closed and TIME_WAIT ones are not counted),
 *   `limit rate over N/second` its SYNs (a token bucket per element, the meter of nft(8)).
 * - Dry run: the same rules with a counter and no verdict, so `nft list table inet
 *   tcpdiag_guard` shows what would have been dropped, and nothing is.
 * The load text starts by creating and deleting the table, so one `nft -f -` transaction
 * replaces whatever was there (or creates it): applying twice gives the same ruleset.
 */
import { UsageError } from '../../errors.js';
import { ipFamily } from '../../model/address.js';
import { GUARD_TABLE, GUARD_TABLE_FAMILY } from '../../model/guard.js';
import type { PlanBan, PlanLimit } from '../../model/guard.js';

/** nft keeps comments in the rule's user data (NFT_USERDATA_MAXLEN 256); 120 leaves room. */
const COMMENT_MAX = 120;

/** A comment nft cannot misread: no quotes, braces, semicolons or newlines. */
export function safeComment(text: string): string {
  const clean = text.replace(/[^A-Za-z0-9 .,:/%=()+_>-]/g, ' ').replace(/\s+/g, ' ').trim();
  return clean.length <= COMMENT_MAX ? clean : `${clean.slice(0, COMMENT_MAX - 3)}...`;
}

function checkAddress(address: string, family: 4 | 6): string {
  if (ipFamily(address) !== family) throw new UsageError(`plan: "${address.slice(0, 60)}" is not an IPv${family} address`, 'make the plan again with tcpdiag guard plan');
  return address;
}

function checkInt(n: number, what: string, min: number, max: number): number {
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`plan: ${what} ${n} is not an integer ${min}-${max}`, 'make the plan again');
  return n;
}

export interface RulesetInput {
  readonly planId: string;
  readonly dryRun: boolean;
  /** Bans with the milliseconds each still has to run (0 or less: left out). */
  readonly bans: readonly (PlanBan & { readonly remainingMs: number })[];
  readonly limits: readonly PlanLimit[];
}

const SYN = 'tcp flags & (syn | ack) == syn';

function verdict(dryRun: boolean): string {
  return dryRun ? 'counter' : 'counter drop';
}

export function guardRuleset(input: RulesetInput): string {
  const t = `${GUARD_TABLE_FAMILY} ${GUARD_TABLE}`;
  const lines: string[] = [`table ${t} {}`, `delete table ${t}`, `table ${t} {`, `  comment "${safeComment(`tcpdiag plan ${input.planId}${input.dryRun ? ' (dry run)' : ''}`)}"`];
  for (const family of [4, 6] as const) {
    const elements = input.bans
      .filter((b) => b.family === family && b.remainingMs > 0)
      .map((b) => `${checkAddress(b.address, family)} timeout ${checkInt(Math.ceil(b.remainingMs), 'ban timeout', 1, 365 * 86_400_000)}ms comment "${safeComment(b.evidence)}"`);
    lines.push(`  set ban${family} {`, `    type ipv${family}_addr; flags timeout;`);
    if (elements.length > 0) lines.push(`    elements = { ${elements.join(',\n      ')} }`);
    lines.push('  }');
  }
  for (const l of input.limits) {
    checkInt(l.port, 'port', 1, 65535);
    for (const family of [4, 6] as const) {
      lines.push(`  set conn${family}_${l.port} { type ipv${family}_addr; flags dynamic; size 65535; }`);
      lines.push(`  set rate${family}_${l.port} { type ipv${family}_addr; flags dynamic,timeout; timeout 60s; size 65535; }`);
    }
  }
  lines.push('  chain input {', '    type filter hook input priority -5; policy accept;');
  const dry = input.dryRun ? 'dry run, would drop: ' : '';
  if (input.bans.some((b) => b.remainingMs > 0)) {
    lines.push(`    ${SYN} ip saddr @ban4 ${verdict(input.dryRun)} comment "${safeComment(`${dry}banned sources, new connections`)}"`);
    lines.push(`    ${SYN} ip6 saddr @ban6 ${verdict(input.dryRun)} comment "${safeComment(`${dry}banned sources, new connections`)}"`);
  }
  for (const l of input.limits) {
    const conns = checkInt(l.maxConnectionsPerSource, 'connection limit', 1, 1_000_000);
    const rate = checkInt(l.synPerSecondPerSource, 'SYN rate limit', 1, 1_000_000);
    for (const [family, field] of [[4, 'ip saddr'], [6, 'ip6 saddr']] as const) {
      lines.push(`    tcp dport ${l.port} ${SYN} add @conn${family}_${l.port} { ${field} ct count over ${conns} } ${verdict(input.dryRun)} comment "${safeComment(`${dry}over ${conns} connections per source: ${l.evidence}`)}"`);
      lines.push(`    tcp dport ${l.port} ${SYN} update @rate${family}_${l.port} { ${field} limit rate over ${rate}/second burst ${rate * 2} packets } ${verdict(input.dryRun)} comment "${safeComment(`${dry}over ${rate} SYN/s per source: ${l.evidence}`)}"`);
    }
  }
  lines.push('  }', '}');
  return lines.join('\n') + '\n';
}

/** Deletes tcpdiag's table (rollback when nothing was there before apply). */
export function deleteGuardTable(): string {
  const t = `${GUARD_TABLE_FAMILY} ${GUARD_TABLE}`;
  return `table ${t} {}\ndelete table ${t}\n`;
}
