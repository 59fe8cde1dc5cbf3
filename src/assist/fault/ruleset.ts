/**
 * nftables rulesets for `tcpdiag fault`, built from validated numbers only (never from raw
 * user text), so nothing a user types can inject nft syntax. Pure.
 *
 * Loss goes on the INPUT hook: dropping on OUTPUT makes the kernel re-send locally without
 * counting a retransmission (architecture.md, "Reproducing faults on purpose"); on INPUT the
 * sender's RTO fires and the retransmission counters move as on a real lossy link.
 *
 * Every rule holds only while the table's set `lease` has its one element: a set element with a
 * timeout (nft(8), "SETS": `flags timeout`) disappears by itself, and the kernel stops matching
 * it at its expiry (nft_set_elem_expired, checked on lookup), not at the next garbage
 * collection. The running command renews the element (LEASE_MS ahead, never past its
 * deadline), so if tcpdiag is killed without a chance to delete its table, the fault still
 * ends at its deadline, or at most LEASE_MS after the kill when it had none. A rule of another
 * fault kind starts with `leaseMatch()` too (an NFQUEUE rule: `queue num N bypass`, so packets
 * pass while nothing reads the queue) and gets the same guarantee.
 */
import { UsageError } from '../../errors.js';
import { PERCENT, PORT, inRange } from '../../model/limits.js';
import { rangeText } from '../../model/units.js';

export type FaultKind = 'loss' | 'synack-drop';

export interface FaultSpec {
  readonly kind: FaultKind;
  readonly port: number;
  /** 1-100: share of matching packets dropped. */
  readonly percent: number;
}

/** Every table tcpdiag installs starts with this, so list/clear touch only ours. */
export const FAULT_TABLE_PREFIX = 'tcpdiag_fault_';
export const FAULT_TABLE_FAMILY = 'inet';

/** The set whose element keeps the rules alive; its key is the protocol (always tcp). */
export const LEASE_SET = 'lease';
/** How far ahead the lease is renewed: the longest a fault outlives a killed tcpdiag. */
export const LEASE_MS = 10_000;
/** How often a running command renews it: three renewals may fail before it lapses. */
export const LEASE_RENEW_MS = 3_000;

/** The first match of every fault rule: true while the lease lives. */
export function leaseMatch(): string {
  return `meta l4proto @${LEASE_SET}`;
}

/**
 * Milliseconds the lease should run from now: LEASE_MS, or less so it ends at the deadline.
 * 0 means the deadline has passed (no element: the rules match nothing).
 */
export function leaseTimeoutMs(nowMs: number, deadlineMs: number | null): number {
  const left = deadlineMs === null ? LEASE_MS : Math.min(LEASE_MS, deadlineMs - nowMs);
  return Math.max(0, Math.ceil(left));
}

/** An `nft -f -` batch renewing the lease: flush and add in one transaction, so no gap. */
export function leaseRenewal(table: string, timeoutMs: number): string {
  if (pidOfFaultTable(table) === null) throw new UsageError(`"${table}" is not a tcpdiag fault table name`);
  const add = timeoutMs > 0 ? `add element ${FAULT_TABLE_FAMILY} ${table} ${LEASE_SET} { tcp timeout ${Math.ceil(timeoutMs)}ms }\n` : '';
  return `flush set ${FAULT_TABLE_FAMILY} ${table} ${LEASE_SET}\n${add}`;
}

export function faultTableName(pid: number): string {
  if (!Number.isInteger(pid) || pid <= 0) throw new UsageError(`invalid pid ${pid}`);
  return `${FAULT_TABLE_PREFIX}${pid}`;
}

/** The pid a fault table belongs to, or null when the name is not one of ours. */
export function pidOfFaultTable(name: string): number | null {
  const match = /^tcpdiag_fault_(\d+)$/.exec(name);
  return match ? Number(match[1]) : null;
}

export function validateFaultSpec(spec: FaultSpec): FaultSpec {
  if (!Number.isInteger(spec.port) || !inRange(spec.port, PORT)) throw new UsageError(`--port ${spec.port}: expected ${rangeText(PORT)}`);
  if (!Number.isInteger(spec.percent) || !inRange(spec.percent, PERCENT)) {
    throw new UsageError(`--percent ${spec.percent}: expected an integer ${rangeText(PERCENT)}`, 'e.g. --percent 5 drops about one packet in twenty');
  }
  if (spec.kind !== 'loss' && spec.kind !== 'synack-drop') throw new UsageError(`unknown fault "${String(spec.kind)}"`, 'use loss or synack-drop');
  return spec;
}

/** The match for "N percent of packets": numgen random mod 100 is uniform over 0..99. */
function sample(percent: number): string {
  return percent >= 100 ? '' : ` numgen random mod 100 < ${percent}`;
}

/** Rules of the chain, one per line, each with a counter so the command can report drops. */
export function faultRules(input: FaultSpec): string[] {
  const spec = validateFaultSpec(input);
  const p = spec.port;
  if (spec.kind === 'synack-drop') {
    // SYN-ACKs from the server port: the client stays in SYN_SENT, the server in SYN_RECV
    // and retransmits its SYN-ACK (tcp_retransmit_synack, net/ipv4/tcp_output.c).
    return [`${leaseMatch()} tcp sport ${p} tcp flags & (syn | ack) == syn | ack${sample(spec.percent)} counter drop`];
  }
  // Both directions of every connection on the port: towards it (dport) and from it (sport).
  return [`${leaseMatch()} tcp dport ${p}${sample(spec.percent)} counter drop`, `${leaseMatch()} tcp sport ${p}${sample(spec.percent)} counter drop`];
}

/**
 * A complete `nft -f -` ruleset creating the table with its lease (running `leaseMs` from now)
 * and its INPUT-hook chain.
 */
export function faultRuleset(table: string, spec: FaultSpec, leaseMs: number): string {
  if (pidOfFaultTable(table) === null) throw new UsageError(`"${table}" is not a tcpdiag fault table name`);
  if (!Number.isInteger(leaseMs) || leaseMs <= 0) throw new UsageError(`invalid lease ${leaseMs} ms`);
  const rules = faultRules(spec).map((rule) => `    ${rule}\n`).join('');
  return (
    `table ${FAULT_TABLE_FAMILY} ${table} {\n` +
    `  set ${LEASE_SET} {\n` +
    `    type inet_proto; flags timeout;\n` +
    `    elements = { tcp timeout ${leaseMs}ms }\n` +
    `  }\n` +
    `  chain input {\n` +
    // Before the usual filter chains (priority 0), so an accept elsewhere cannot skip the fault.
    `    type filter hook input priority -10; policy accept;\n` +
    rules +
    `  }\n` +
    `}\n`
  );
}
