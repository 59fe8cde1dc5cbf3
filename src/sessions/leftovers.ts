/**
 * What dead tcpdiag processes left behind, and its removal (`tcpdiag cleanup`). A process killed
 * with SIGKILL runs none of its scope's cleanups; its guards (platform/guard.ts) and its
 * children's death signal (platform/children.ts) undo most of it within a second, and fault
 * rules stop matching when their lease runs out (assist/fault/ruleset.ts). What remains when
 * the guards were killed too, or by a tcpdiag without them: tracefs instances still tracing
 * into their buffers, fault tables (inert once their lease ran out, but still in the ruleset)
 * and the iptables rules that fed a delay fault's queue (inert too: nothing is marked),
 * and child processes whose owner is gone. Each is found by the owner pid it carries
 * (platform/owners.ts) and is a leftover only when that pid no longer runs.
 */
import { tracefsRoot } from '../platform/capabilities.js';
import { isRunning, ownedProcesses, staleTracefsInstances } from '../platform/owners.js';
import type { OwnedInstance, OwnedProcess } from '../platform/owners.js';
import { removeInstanceDirectory } from '../sources/trace.js';
import { deleteTable, listFaultTables, runNft } from '../assist/fault/nft.js';
import { FAULT_TABLE_FAMILY, LEASE_SET, pidOfFaultTable } from '../assist/fault/ruleset.js';
import { deleteQueueRule, listQueueRules } from '../assist/fault/queue-rules.js';
import type { QueueRule } from '../assist/fault/queue-rules.js';

export interface LeftoverTable {
  readonly family: string;
  readonly name: string;
  readonly pid: number;
  /** Whether its rules still match packets: its lease has not run out (or it has none). */
  readonly active: boolean;
}

export interface Leftovers {
  readonly tracefsInstances: readonly OwnedInstance[];
  readonly nftTables: readonly LeftoverTable[];
  /** fault delay/reorder: the iptables NFQUEUE rules of a dead tcpdiag. */
  readonly queueRules: readonly QueueRule[];
  readonly processes: readonly OwnedProcess[];
}

export type Removed<T> = T & { readonly removed: boolean; readonly error?: string };

export interface CleanupReport {
  readonly tracefsInstances: ReadonlyArray<Removed<OwnedInstance>>;
  readonly nftTables: ReadonlyArray<Removed<LeftoverTable>>;
  readonly queueRules: ReadonlyArray<Removed<QueueRule>>;
  readonly processes: ReadonlyArray<Removed<OwnedProcess>>;
}

/** How long a leftover process gets between SIGTERM and SIGKILL. */
const TERM_GRACE_MS = 2_000;

export async function findLeftovers(): Promise<Leftovers> {
  const root = tracefsRoot();
  const tracefsInstances = root === null ? [] : staleTracefsInstances(root);
  const nftTables: LeftoverTable[] = [];
  for (const name of await listFaultTables()) {
    const pid = pidOfFaultTable(name) ?? 0;
    if (isRunning(pid)) continue;
    nftTables.push({ family: FAULT_TABLE_FAMILY, name, pid, active: await leaseActive(name) });
  }
  const queueRules = (await listQueueRules()).filter((rule) => !isRunning(rule.pid));
  const processes = ownedProcesses().filter((p) => p.pid !== process.pid && !isRunning(p.ownerPid));
  return { tracefsInstances, nftTables, queueRules, processes };
}

/** Whether the table's lease set still holds its element; a table without one matches forever. */
async function leaseActive(table: string): Promise<boolean> {
  const result = await runNft(['-j', 'list', 'set', FAULT_TABLE_FAMILY, table, LEASE_SET]);
  if (result.code !== 0) return true; // no lease set: a table from a tcpdiag without leases
  try {
    const json = JSON.parse(result.stdout) as { nftables?: Array<{ set?: { elem?: unknown[] } }> };
    return (json.nftables ?? []).some((item) => (item.set?.elem?.length ?? 0) > 0);
  } catch {
    return true;
  }
}

export async function removeLeftovers(found: Leftovers): Promise<CleanupReport> {
  // Processes first: a leftover tcpdump or bpftrace may hold what the others would remove.
  const processes = await Promise.all(found.processes.map(async (p) => ({ ...p, ...(await stopProcess(p.pid)) })));
  const tracefsInstances = found.tracefsInstances.map((instance) => {
    const removed = removeInstanceDirectory(instance.path);
    return removed ? { ...instance, removed } : { ...instance, removed, error: 'the instance is still there (busy: a process still reads it?)' };
  });
  const nftTables: Array<Removed<LeftoverTable>> = [];
  for (const table of found.nftTables) {
    const removed = await deleteTable(table.name);
    nftTables.push(removed ? { ...table, removed } : { ...table, removed, error: 'nft delete table failed' });
  }
  const queueRules: Array<Removed<QueueRule>> = [];
  for (const rule of found.queueRules) {
    const removed = await deleteQueueRule(rule);
    queueRules.push(removed ? { ...rule, removed } : { ...rule, removed, error: `${rule.tool} -D failed` });
  }
  return { tracefsInstances, nftTables, queueRules, processes };
}

async function stopProcess(pid: number): Promise<{ removed: boolean; error?: string }> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return { removed: true };
    return { removed: false, error: (error as Error).message };
  }
  const deadline = Date.now() + TERM_GRACE_MS;
  while (isRunning(pid)) {
    if (Date.now() >= deadline) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      return isRunning(pid) ? { removed: false, error: 'still running after SIGKILL' } : { removed: true };
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { removed: true };
}
