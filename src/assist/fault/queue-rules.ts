/**
 * The iptables/ip6tables rules that queue the packets a delay or reorder fault marks
 * (ruleset.ts, nfqueueRuleArgs), as the kernel lists them: found by the fault table named in
 * their comment, so `tcpdiag cleanup` can remove those of a tcpdiag that was killed together
 * with its guards. Such a rule is inert by then (nothing is marked once the table's lease ran
 * out, and --queue-bypass lets packets pass a queue nobody reads), but still in the ruleset.
 */
import { findExecutable } from '../../platform/capabilities.js';
import { runTool } from './nft.js';
import { nfqueueRuleArgs, pidOfFaultTable } from './ruleset.js';

export interface QueueRule {
  /** iptables or ip6tables. */
  readonly tool: 'iptables' | 'ip6tables';
  /** The fault table the rule belongs to (its comment). */
  readonly table: string;
  readonly pid: number;
  readonly queue: number;
}

/** `-A OUTPUT ... --comment tcpdiag_fault_PID -j NFQUEUE --queue-num N ...` lines of `iptables -S OUTPUT`. */
export function parseQueueRules(tool: QueueRule['tool'], listing: string): QueueRule[] {
  const rules: QueueRule[] = [];
  for (const line of listing.split('\n')) {
    if (!line.startsWith('-A OUTPUT ') || !line.includes(' -j NFQUEUE ')) continue;
    const table = / --comment "?(tcpdiag_fault_\d+)"?(?: |$)/.exec(line)?.[1];
    const queue = / --queue-num (\d+)(?: |$)/.exec(line)?.[1];
    if (table === undefined || queue === undefined) continue;
    const pid = pidOfFaultTable(table);
    if (pid === null) continue;
    rules.push({ tool, table, pid, queue: Number(queue) });
  }
  return rules;
}

/** Every NFQUEUE rule of a tcpdiag fault in the filter table's OUTPUT chain (none without iptables). */
export async function listQueueRules(): Promise<QueueRule[]> {
  const found: QueueRule[] = [];
  for (const tool of ['iptables', 'ip6tables'] as const) {
    const path = findExecutable(tool);
    if (path === null) continue;
    const result = await runTool(path, ['-w', '-t', 'filter', '-S', 'OUTPUT']);
    if (result.code === 0) found.push(...parseQueueRules(tool, result.stdout));
  }
  return found;
}

/** Delete one rule by its exact arguments (never by position: other rules may have moved). */
export async function deleteQueueRule(rule: QueueRule): Promise<boolean> {
  const path = findExecutable(rule.tool);
  if (path === null) return false;
  const result = await runTool(path, nfqueueRuleArgs('-D', rule.table, rule.queue));
  return result.code === 0;
}

/**
 * iptables-nft (iptables -V says "nf_tables") keeps its rules in the nft tables `ip filter` and
 * `ip6 filter`, which the first rule creates when they are absent. The family of that table for
 * `tool`, or null for iptables-legacy (whose tables always exist).
 */
export async function xtablesNftFamily(tool: string): Promise<'ip' | 'ip6' | null> {
  const version = await runTool(tool, ['-V']);
  if (!version.stdout.includes('nf_tables')) return null;
  return tool.endsWith('ip6tables') ? 'ip6' : 'ip';
}

export async function nftTableExists(family: string, table: string): Promise<boolean> {
  const nft = findExecutable('nft');
  return nft !== null && (await runTool(nft, ['list', 'table', family, table])).code === 0;
}

/**
 * Remove the `filter` table iptables-nft created for our rule, once nothing else is in it. The
 * kernel refuses to delete a chain that still holds rules (EBUSY, nf_tables_delchain), so the
 * chain goes only when empty, and the table only when no chain is left.
 */
export async function removeEmptyXtablesTable(family: 'ip' | 'ip6'): Promise<void> {
  const nft = findExecutable('nft');
  if (nft === null) return;
  if ((await runTool(nft, ['delete', 'chain', family, 'filter', 'OUTPUT'])).code !== 0) return;
  const listing = await runTool(nft, ['list', 'table', family, 'filter']);
  if (listing.code === 0 && !/\bchain\b/.test(listing.stdout)) await runTool(nft, ['delete', 'table', family, 'filter']);
}
