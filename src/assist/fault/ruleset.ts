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

export type FaultKind = 'loss' | 'synack-drop' | 'delay' | 'reorder';

export interface FaultSpec {
  readonly kind: FaultKind;
  readonly port: number;
  /** 1-100: share of matching packets dropped (loss, synack-drop) or held (reorder; delay: 100). */
  readonly percent: number;
  /** delay, reorder: how long a held packet is held. */
  readonly delayMs?: number;
  /** delay: each hold is delayMs plus or minus up to this (uniform). */
  readonly jitterMs?: number;
}

/**
 * delay and reorder hold packets in user space through NFQUEUE. This kernel has no nft `queue`
 * statement (CONFIG_NFT_QUEUE is off) but has the xtables NFQUEUE target, so the nft table
 * only marks the packets (this bit of the packet mark, while the lease lives) and an iptables
 * rule queues the marked ones (holder.ts): the lease still ends the fault by itself.
 */
export const DELAY_MARK = 0x00100000;
/** The longest hold: past a minute TCP's own timers (RTO, keepalive) take over anyway. */
export const DELAY_MAX_MS = 60_000;

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
  if (!['loss', 'synack-drop', 'delay', 'reorder'].includes(spec.kind)) throw new UsageError(`unknown fault "${String(spec.kind)}"`, 'use loss, synack-drop, delay or reorder');
  if (spec.kind === 'delay' || spec.kind === 'reorder') {
    const delay = spec.delayMs;
    if (delay === undefined || !Number.isFinite(delay) || delay <= 0 || delay > DELAY_MAX_MS) {
      throw new UsageError(`--ms ${String(delay)}: expected more than 0 and at most ${DELAY_MAX_MS}`, 'e.g. --ms 100');
    }
    const jitter = spec.jitterMs ?? 0;
    if (!Number.isFinite(jitter) || jitter < 0 || jitter > delay) {
      throw new UsageError(`--jitter ${jitter}: expected 0 to --ms (${delay})`, 'a hold is --ms plus or minus up to --jitter');
    }
  }
  return spec;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/**
 * The iptables/ip6tables arguments (after the command) of the rule that queues the marked
 * packets to `queue`, inserted first in the filter table's OUTPUT chain (priority 0, after the
 * nft chain at -10); `--queue-bypass` lets packets pass while nothing reads the queue. Its
 * comment names the fault table, so a leftover rule says whose it was.
 */
export function nfqueueRuleArgs(action: '-I' | '-D' | '-C', table: string, queue: number): string[] {
  if (pidOfFaultTable(table) === null) throw new UsageError(`"${table}" is not a tcpdiag fault table name`);
  if (!Number.isInteger(queue) || queue < 0 || queue > 65535) throw new UsageError(`invalid NFQUEUE number ${queue}`);
  return [
    '-w', '-t', 'filter', action, 'OUTPUT', ...(action === '-I' ? ['1'] : []),
    '-m', 'mark', '--mark', `${hex(DELAY_MARK)}/${hex(DELAY_MARK)}`,
    '-m', 'comment', '--comment', table,
    '-j', 'NFQUEUE', '--queue-num', String(queue), '--queue-bypass',
  ];
}

/** The match for "N percent of packets": numgen random mod 100 is uniform over 0..99. */
function sample(percent: number): string {
  return percent >= 100 ? '' : ` numgen random mod 100 < ${percent}`;
}

/** Rules of the chain, one per line, each with a counter so the command can report drops. */
export function faultRules(input: FaultSpec): string[] {
  const spec = validateFaultSpec(input);
  const p = spec.port;
  if (spec.kind === 'delay' || spec.kind === 'reorder') {
    // Packets to the port as they leave this host (OUTPUT): on loopback that is one direction
    // of each connection, so both ends' RTT grows by the hold once, as with netem on egress.
    return [`${leaseMatch()} tcp dport ${p} counter meta mark set meta mark | ${hex(DELAY_MARK)}`];
  }
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
  const hook = spec.kind === 'delay' || spec.kind === 'reorder' ? 'output' : 'input';
  return (
    `table ${FAULT_TABLE_FAMILY} ${table} {\n` +
    `  set ${LEASE_SET} {\n` +
    `    type inet_proto; flags timeout;\n` +
    `    elements = { tcp timeout ${leaseMs}ms }\n` +
    `  }\n` +
    `  chain ${hook} {\n` +
    // Before the usual filter chains (priority 0), so an accept elsewhere cannot skip the fault
    // (and, for delay, before the iptables filter chain that queues the marked packets).
    `    type filter hook ${hook} priority -10; policy accept;\n` +
    rules +
    `  }\n` +
    `}\n`
  );
}
