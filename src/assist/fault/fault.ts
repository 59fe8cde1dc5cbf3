/**
 * `tcpdiag fault`: install packet loss or SYN-ACK drops with nftables for a while, and always
 * take them away again: at the end of the duration, on Ctrl-C / SIGTERM / SIGHUP, and on
 * errors (the table's removal is a cleanup of the caller's scope, registered before it exists). Each run owns one table,
 * `inet tcpdiag_fault_<pid>`, so `fault list` / `fault clear` see only what tcpdiag installed
 * and can tell a stale table (its process gone, e.g. after SIGKILL) from a running one.
 */
import { spawnSync } from 'node:child_process';
import { PrivilegeError } from '../../errors.js';
import { isRoot } from '../../platform/capabilities.js';
import type { Scope } from '../../platform/scope.js';
import { setLongTimeout } from '../../platform/long-timer.js';
import { applyRuleset, deleteTable, describeTable, listFaultTables, nftPath } from './nft.js';
import { FAULT_TABLE_FAMILY, faultRuleset, faultTableName, pidOfFaultTable, validateFaultSpec } from './ruleset.js';
import type { FaultSpec } from './ruleset.js';

export interface FaultRunOptions extends FaultSpec {
  /** null: until the signal aborts. */
  readonly durationMs: number | null;
  readonly signal: AbortSignal;
  /** Owns the table: closing it (a signal, an error, process exit) deletes the table. */
  readonly scope: Scope;
}

export interface FaultInstalled {
  readonly table: string;
  readonly family: string;
  readonly rules: string[];
}

export interface FaultResult {
  readonly table: string;
  readonly kind: FaultSpec['kind'];
  readonly port: number;
  readonly percent: number;
  readonly ranMs: number;
  readonly droppedPackets: number;
  readonly removed: boolean;
  /** Why it ended: the duration passed, or a signal. */
  readonly endedBy: 'duration' | 'signal';
}

export interface FaultTableInfo {
  readonly table: string;
  readonly family: string;
  readonly pid: number;
  /** Whether the process that installed it still runs; a dead owner means a stale table. */
  readonly ownerAlive: boolean;
  readonly rules: string[];
  readonly droppedPackets: number;
}

function requireRoot(what: string): void {
  if (!isRoot()) throw new PrivilegeError(what, 'run it as root: sudo tcpdiag fault ...');
  nftPath();
}

export async function runFault(options: FaultRunOptions, onInstalled: (installed: FaultInstalled) => void): Promise<FaultResult> {
  requireRoot('tcpdiag fault (nftables rules)');
  const spec = validateFaultSpec(options);
  const table = faultTableName(process.pid);
  const ruleset = faultRuleset(table, spec);
  let removed = false;
  const nft = nftPath();
  // Registered first: a signal or error between here and the end removes the table. The sync
  // variant is the scope's closeSync() (an 'exit' listener cannot wait), hence spawnSync.
  const unregister = options.scope.defer(`nft table ${table}`, async () => {
    removed = await deleteTable(table);
  }, {
    sync: () => {
      if (!removed) spawnSync(nft, ['delete', 'table', FAULT_TABLE_FAMILY, table], { stdio: 'ignore' });
    },
  });
  const started = Date.now();
  try {
    await applyRuleset(ruleset);
    const { rules } = await describeTable(table);
    onInstalled({ table, family: FAULT_TABLE_FAMILY, rules });
    const endedBy = await waitFor(options.durationMs, options.signal);
    const { droppedPackets } = await describeTable(table).catch(() => ({ droppedPackets: 0 }));
    removed = await deleteTable(table);
    return { table, kind: spec.kind, port: spec.port, percent: spec.percent, ranMs: Date.now() - started, droppedPackets, removed, endedBy };
  } finally {
    if (!removed) removed = await deleteTable(table).catch(() => false);
    unregister();
  }
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
  requireRoot('tcpdiag fault list (reading nftables)');
  const tables = await listFaultTables();
  const infos: FaultTableInfo[] = [];
  for (const table of tables) {
    const pid = pidOfFaultTable(table) ?? 0;
    const { rules, droppedPackets } = await describeTable(table).catch(() => ({ rules: [], droppedPackets: 0 }));
    infos.push({ table, family: FAULT_TABLE_FAMILY, pid, ownerAlive: processAlive(pid), rules, droppedPackets });
  }
  return infos;
}

/** Delete tcpdiag's fault tables (only stale ones with `staleOnly`); returns the names removed. */
export async function clearFaults(staleOnly: boolean): Promise<string[]> {
  requireRoot('tcpdiag fault clear (nftables)');
  const removed: string[] = [];
  for (const table of await listFaultTables()) {
    const pid = pidOfFaultTable(table) ?? 0;
    if (staleOnly && processAlive(pid)) continue;
    if (await deleteTable(table)) removed.push(table);
  }
  return removed;
}
