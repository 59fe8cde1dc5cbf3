/**
 * `tcpdiag fault`: install packet loss or SYN-ACK drops with nftables for a while, and always
 * take them away again: at the end of the duration, on Ctrl-C / SIGTERM / SIGHUP, and on
 * errors (the table's removal is a cleanup of the caller's scope, registered before it exists). Each run owns one table,
 * `inet tcpdiag_fault_<pid>`, so `fault list` / `fault clear` see only what tcpdiag installed
 * and can tell a stale table (its process gone, e.g. after SIGKILL) from a running one.
 *
 * A kill -9 runs none of that, so two more things end a fault without us: a guard process
 * (platform/guard.ts) deletes the table as soon as this process is gone, and the rules match
 * only while the table's lease lives (ruleset.ts), renewed every LEASE_RENEW_MS and never past
 * the deadline: even with the guard killed too, the fault stops at its deadline (or LEASE_MS
 * after the kill without one), and only an inert table is left for `tcpdiag cleanup`.
 */
import { spawnSync } from 'node:child_process';
import { NEEDS, requirePrivileges } from '../../platform/privileges.js';
import { startGuard } from '../../platform/guard.js';
import type { Scope } from '../../platform/scope.js';
import { setLongTimeout } from '../../platform/long-timer.js';
import { applyRuleset, deleteTable, describeTable, listFaultTables, nftPath, runNft } from './nft.js';
import { FAULT_TABLE_FAMILY, LEASE_RENEW_MS, faultRuleset, faultTableName, leaseRenewal, leaseTimeoutMs, pidOfFaultTable, validateFaultSpec } from './ruleset.js';
import type { FaultSpec } from './ruleset.js';
import { latenessPercentileUs, startHolder } from './holder.js';
import type { Holder } from './holder.js';
import type { NfqueueStats } from '../../native/index.js';

export interface FaultRunOptions extends FaultSpec {
  /** null: until the signal aborts. */
  readonly durationMs: number | null;
  readonly signal: AbortSignal;
  /** Owns the table: closing it (a signal, an error, process exit) deletes the table. */
  readonly scope: Scope;
  /** Told when a lease renewal fails (the fault then ends early, at the lease's expiry). */
  readonly onWarning?: (text: string) => void;
}

export interface FaultInstalled {
  readonly table: string;
  readonly family: string;
  readonly rules: string[];
  /** delay, reorder: the NFQUEUE holding the packets and the iptables rules feeding it. */
  readonly queue?: number;
  readonly queueRules?: readonly string[];
}

/** delay, reorder: what the holder did (native/nfqueue.c). */
export interface HeldSummary {
  readonly queue: number;
  /** Packets queued to tcpdiag. */
  readonly packets: number;
  /** reorder: of those, passed at once. */
  readonly passedAtOnce: number;
  readonly maxHeldAtOnce: number;
  /** How much later than intended held packets went out. */
  readonly lateMeanUs: number;
  readonly lateP99Us: number;
  readonly lateMaxUs: number;
  /** Netlink messages lost (ENOBUFS): their packets waited until the end. */
  readonly lostMessages: number;
  /** Verdicts the kernel refused: those packets, too, waited until the end. */
  readonly verdictErrors: number;
}

function heldSummary(stats: NfqueueStats): HeldSummary {
  return {
    queue: stats.queue,
    packets: stats.received,
    passedAtOnce: stats.passedAtOnce,
    maxHeldAtOnce: stats.maxHeld,
    lateMeanUs: Math.round(stats.lateMeanUs),
    lateP99Us: latenessPercentileUs(stats, 0.99),
    lateMaxUs: Math.round(stats.lateMaxUs),
    lostMessages: stats.lostMessages,
    verdictErrors: stats.verdictErrors,
  };
}

export interface FaultResult {
  readonly table: string;
  readonly kind: FaultSpec['kind'];
  readonly port: number;
  readonly percent: number;
  readonly ranMs: number;
  /** loss, synack-drop: packets dropped; delay, reorder: packets marked for the queue. */
  readonly droppedPackets: number;
  readonly removed: boolean;
  /** Why it ended: the duration passed, or a signal. */
  readonly endedBy: 'duration' | 'signal';
  /** delay, reorder only: packets the table marked for the queue (nothing is dropped). */
  readonly markedPackets?: number;
  readonly delayMs?: number;
  readonly jitterMs?: number;
  readonly held?: HeldSummary;
}

export interface FaultTableInfo {
  readonly table: string;
  readonly family: string;
  readonly pid: number;
  /** Whether the process that installed it still runs; a dead owner means a stale table. */
  readonly ownerAlive: boolean;
  readonly rules: string[];
  readonly droppedPackets: number;
  /** Packets a delay or reorder rule marked for the queue (held, not dropped). */
  readonly markedPackets: number;
}

function requireNetAdmin(command: string): void {
  requirePrivileges({ ...NEEDS.fault(), what: `${command} (nftables)`, sudo: `sudo ${command}${command === 'tcpdiag fault' ? ' ...' : ''}` });
  nftPath();
}

export async function runFault(options: FaultRunOptions, onInstalled: (installed: FaultInstalled) => void): Promise<FaultResult> {
  // Bad values are the user's to fix before privileges are: say so first.
  const spec = validateFaultSpec(options);
  requireNetAdmin('tcpdiag fault');
  const table = faultTableName(process.pid);
  const started = Date.now();
  const deadline = options.durationMs === null ? null : started + options.durationMs;
  const ruleset = faultRuleset(table, spec, Math.max(1, leaseTimeoutMs(started, deadline)));
  let removed = false;
  const nft = nftPath();
  const guard = startGuard(table, [nft, 'delete', 'table', FAULT_TABLE_FAMILY, table]);
  // Registered first: a signal or error between here and the end removes the table. The sync
  // variant is the scope's closeSync() (an 'exit' listener cannot wait), hence spawnSync.
  const unregister = options.scope.defer(`nft table ${table}`, async () => {
    removed = await deleteTable(table);
    guard.dismiss();
  }, {
    sync: () => {
      if (!removed) spawnSync(nft, ['delete', 'table', FAULT_TABLE_FAMILY, table], { stdio: 'ignore' });
      guard.dismiss();
    },
  });
  const scope = options.scope.child(`fault ${table}`);
  const renewal = leaseRenewer(table, deadline, options.onWarning);
  const holds = spec.kind === 'delay' || spec.kind === 'reorder';
  let holder: Holder | null = null;
  try {
    // The queue and its iptables rules first: the table's marks then always find a reader.
    if (holds) {
      holder = await startHolder({
        table, delayMs: spec.delayMs ?? 0, jitterMs: spec.jitterMs ?? 0, heldPercent: spec.kind === 'delay' ? 100 : spec.percent,
        scope: options.scope, ...(options.onWarning === undefined ? {} : { onWarning: options.onWarning }),
      });
    }
    await applyRuleset(ruleset);
    scope.interval(renewal.tick, LEASE_RENEW_MS);
    const { rules } = await describeTable(table);
    onInstalled({ table, family: FAULT_TABLE_FAMILY, rules, ...(holder === null ? {} : { queue: holder.queue, queueRules: holder.rules }) });
    const endedBy = await waitFor(options.durationMs, options.signal);
    await scope.close();
    await renewal.settled();
    const { droppedPackets, markedPackets } = await describeTable(table).catch(() => ({ droppedPackets: 0, markedPackets: 0 }));
    // Marking stops with the table; then the rules go and every held packet is let through.
    removed = await deleteTable(table);
    const held = holder === null ? undefined : heldSummary(await holder.stop());
    return {
      table, kind: spec.kind, port: spec.port, percent: spec.percent, ranMs: Date.now() - started, removed, endedBy,
      ...(holds ? { markedPackets, droppedPackets: 0, delayMs: spec.delayMs ?? 0, jitterMs: spec.jitterMs ?? 0 } : { droppedPackets }),
      ...(held === undefined ? {} : { held }),
    };
  } finally {
    await scope.close();
    await renewal.settled();
    if (!removed) removed = await deleteTable(table).catch(() => false);
    await holder?.stop();
    guard.dismiss();
    unregister();
  }
}

/** Lease renewals, one nft batch at a time (a slow one is not overlapped). */
function leaseRenewer(table: string, deadline: number | null, onWarning: ((text: string) => void) | undefined): { tick: () => void; settled: () => Promise<void> } {
  let inFlight: Promise<void> | null = null;
  const warn = (why: string): void => onWarning?.(`renewing the lease of ${table} failed, so the fault ends when it runs out: ${why}`);
  return {
    tick: () => {
      if (inFlight !== null) return;
      inFlight = runNft(['-f', '-'], leaseRenewal(table, leaseTimeoutMs(Date.now(), deadline)))
        .then((result) => {
          if (result.code !== 0) warn(result.stderr.trim());
        }, (error: unknown) => warn(error instanceof Error ? error.message : String(error)))
        .finally(() => {
          inFlight = null;
        });
    },
    settled: async () => {
      await inFlight;
    },
  };
}

function waitFor(durationMs: number | null, signal: AbortSignal): Promise<'duration' | 'signal'> {
  if (signal.aborted) return Promise.resolve('signal');
  return new Promise((resolve) => {
    // Without a duration nothing else keeps the event loop alive: hold it with a long timer.
    // A chained timer: setTimeout alone would end a --duration of 2^31 ms or more after 1 ms.
    const hold = durationMs === null ? setInterval(() => undefined, 1 << 30) : null;
    const timer = durationMs === null ? null : setLongTimeout(() => done('duration'), durationMs);
    const onAbort = (): void => done('signal');
    function done(why: 'duration' | 'signal'): void {
      if (hold !== null) clearInterval(hold);
      timer?.clear();
      signal.removeEventListener('abort', onAbort);
      resolve(why);
    }
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error: unknown) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function listFaults(): Promise<FaultTableInfo[]> {
  requireNetAdmin('tcpdiag fault list');
  const tables = await listFaultTables();
  const infos: FaultTableInfo[] = [];
  for (const table of tables) {
    const pid = pidOfFaultTable(table) ?? 0;
    const { rules, droppedPackets, markedPackets } = await describeTable(table).catch(() => ({ rules: [], droppedPackets: 0, markedPackets: 0 }));
    infos.push({ table, family: FAULT_TABLE_FAMILY, pid, ownerAlive: processAlive(pid), rules, droppedPackets, markedPackets });
  }
  return infos;
}

/** Delete tcpdiag's fault tables (only stale ones with `staleOnly`); returns the names removed. */
export async function clearFaults(staleOnly: boolean): Promise<string[]> {
  requireNetAdmin('tcpdiag fault clear');
  const removed: string[] = [];
  for (const table of await listFaultTables()) {
    const pid = pidOfFaultTable(table) ?? 0;
    if (staleOnly && processAlive(pid)) continue;
    if (await deleteTable(table)) removed.push(table);
  }
  return removed;
}
