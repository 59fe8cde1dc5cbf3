/**
 * What `tcpdiag guard` says about each source address that talks to this host's listeners, and
 * about a flood as a whole (the `guard --json` contract), and the shape of a change plan
 * (`guard plan`, `tune plan`, `plan show|approve|apply|rollback`).
 */
import type { Issue } from './issue.js';

export type GuardVerdict = 'normal' | 'suspicious' | 'attacking';

/** One source's numbers over the observation window. */
export interface SourceMetrics {
  /** Connections first seen in the window (each began with a SYN), per second. */
  readonly synPerS: number;
  /** Connections seen in the window (those open at its start included). */
  readonly connections: number;
  /** Connections first seen in the window. */
  readonly newConnections: number;
  /** Connections that got past SYN_RECV (the client's ACK arrived). */
  readonly completed: number;
  /** Connections seen only in SYN_RECV: the handshake never completed while we watched. */
  readonly halfOpenOnly: number;
  /** completed / (completed + halfOpenOnly); null when nothing was seen. */
  readonly completionRatio: number | null;
  /** The most request sockets (SYN_RECV) of this source at one moment. */
  readonly halfOpenMax: number;
  /** The most connections past the handshake (not TIME_WAIT) at one moment, to all listeners. */
  readonly concurrentMax: number;
  /** The most concurrent connections to one listener, and which. */
  readonly perListenerMax: number;
  readonly busiestListener: string | null;
  /** Median time each connection was seen for (a lower bound of its lifetime). */
  readonly lifetimeMsMedian: number | null;
  /** Mean bytes moved per completed connection (received + acknowledged), from tcp_info. */
  readonly bytesPerConnection: number | null;
  /** Median time since each open connection last received data. */
  readonly idleMsMedian: number | null;
  /** Open connections idle at least guard.idle_s that moved at most guard.idle_max_bytes. */
  readonly idleConnections: number;
}

export interface SourceReport {
  readonly address: string;
  readonly family: 4 | 6;
  readonly verdict: GuardVerdict;
  /** Why, each with the number that decided it. */
  readonly reasons: readonly string[];
  readonly metrics: SourceMetrics;
  /** Listeners this source reached (`127.0.0.1:8080`). */
  readonly listeners: readonly string[];
  readonly allowlisted: boolean;
}

export type FloodKind = 'spoofed' | 'real';

export interface FloodReport {
  readonly kind: FloodKind;
  readonly reasons: readonly string[];
  /** Sources with handshakes that never completed. */
  readonly sources: number;
  /** Share of those seen exactly once, never completing (0-1). */
  readonly seenOnceShare: number;
  /** The most request sockets at one moment, over all sources. */
  readonly halfOpenMax: number;
  readonly completionRatio: number | null;
  readonly synPerS: number;
  /** Counter deltas over the window. */
  readonly syncookiesSent: number;
  readonly reqQueueFullDrops: number;
  readonly listenOverflows: number;
  readonly listeners: readonly string[];
}

export interface GuardReport {
  readonly window: { readonly startMs: number; readonly endMs: number; readonly durationMs: number; readonly snapshots: number };
  readonly sources: readonly SourceReport[];
  readonly flood: FloodReport | null;
  readonly issues: readonly Issue[];
}

// ---- plans -------------------------------------------------------------------------------

export const PLAN_FORMAT = 'tcpdiag-plan/1';
/** What the agent's API may do with plans, enabled by name in `agent.actions`: approve (changes nothing on the system). */
export const PLAN_ACTIONS = ['approve'] as const;
export type PlanAction = (typeof PLAN_ACTIONS)[number];
/** tcpdiag's own nft table: apply replaces it whole, rollback restores what was there. */
export const GUARD_TABLE = 'tcpdiag_guard';
export const GUARD_TABLE_FAMILY = 'inet';

export type PlanKind = 'guard' | 'tune';

export interface PlanBan {
  readonly address: string;
  readonly family: 4 | 6;
  /** The ban lasts this long from the first apply; re-applying re-asserts what is left. */
  readonly timeoutMs: number;
  readonly evidence: string;
}

export interface PlanLimit {
  /** The listener's port the limits guard. */
  readonly port: number;
  /** New connections allowed per source beyond which SYNs are dropped (nft ct count). */
  readonly maxConnectionsPerSource: number;
  /** SYNs per second per source beyond which SYNs are dropped (nft limit in a dynamic set). */
  readonly synPerSecondPerSource: number;
  readonly evidence: string;
}

export interface PlanSysctl {
  readonly name: string;
  /** The value in force when the plan was made (apply saves the value in force then). */
  readonly current: string | null;
  readonly value: string;
  readonly reason: string;
  readonly whenNot: string;
  /** The finding it comes from. */
  readonly finding: string | null;
}

export interface PlanNft {
  readonly family: typeof GUARD_TABLE_FAMILY;
  readonly table: typeof GUARD_TABLE;
  /** Counters only: the rules count what they would drop and drop nothing. */
  readonly dryRun: boolean;
  readonly bans: readonly PlanBan[];
  readonly limits: readonly PlanLimit[];
  /** The exact `nft -f -` input apply loads (ban timeouts as at the first apply). */
  readonly ruleset: string;
}

export interface PlanBody {
  readonly format: typeof PLAN_FORMAT;
  readonly id: string;
  readonly kind: PlanKind;
  readonly author: string;
  readonly createdAt: string;
  readonly createdAtMs: number;
  readonly expiresAtMs: number;
  /** The network namespace it changes (null: the host's). */
  readonly netns: { readonly path: string; readonly name: string | null } | null;
  readonly summary: readonly string[];
  readonly nft: PlanNft | null;
  readonly sysctls: readonly PlanSysctl[];
  /** A sysctl.d file written on apply (removed or restored on rollback). */
  readonly persist: { readonly path: string; readonly content: string } | null;
  /** The commands apply runs, in order, as argv joined for reading. */
  readonly commands: readonly string[];
  /** What apply saves so that rollback restores it exactly. */
  readonly undo: readonly string[];
  readonly evidence: unknown;
}

export interface PlanApproval {
  readonly by: string;
  readonly at: string;
  readonly atMs: number;
  /** The hash approved: an edit after approval no longer matches. */
  readonly hash: string;
  /** The login that ran `plan approve` ($SUDO_USER or $USER). */
  readonly runBy: string;
}

export interface PlanFile extends PlanBody {
  /** sha256 of the body (every key above, canonical JSON): "sha256:HEX". */
  readonly hash: string;
  readonly approval: PlanApproval | null;
}
