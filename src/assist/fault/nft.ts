/**
 * The few nft operations `tcpdiag fault` needs, run through spawn with argument arrays (and a
 * ruleset on stdin for `nft -f -`): no shell, no user text on the command line.
 */
import { TcpdiagError, ToolMissingError } from '../../errors.js';
import { findExecutable } from '../../platform/capabilities.js';
import { spawnOwned } from '../../platform/children.js';
import { FAULT_TABLE_FAMILY, pidOfFaultTable } from './ruleset.js';

export interface NftResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function nftPath(): string {
  const path = findExecutable('nft');
  if (path === null) throw new ToolMissingError('nft', 'nftables');
  return path;
}

export function runNft(args: readonly string[], input?: string): Promise<NftResult> {
  return runTool(nftPath(), args, input);
}

/** A tool owned by this process (it dies with tcpdiag), its output collected; `input` goes to its stdin. */
export function runTool(file: string, args: readonly string[], input?: string): Promise<NftResult> {
  return new Promise((resolve, reject) => {
    const child = spawnOwned(file, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    if (input !== undefined && child.stdin !== null) {
      // nft may exit before reading all of it (a syntax error): that is reported by its exit code.
      child.stdin.on('error', () => undefined);
      child.stdin.end(input);
    }
  });
}

async function mustNft(args: readonly string[], input?: string): Promise<string> {
  const result = await runNft(args, input);
  if (result.code !== 0) {
    throw new TcpdiagError('TCPDIAG_NFT_FAILED', `nft ${args.join(' ')} failed: ${result.stderr.trim()}`, {
      hint: 'check that nftables works here: nft list ruleset',
    });
  }
  return result.stdout;
}

export function applyRuleset(ruleset: string): Promise<string> {
  return mustNft(['-f', '-'], ruleset);
}

export async function deleteTable(name: string): Promise<boolean> {
  if (pidOfFaultTable(name) === null) throw new TcpdiagError('TCPDIAG_NFT_FAILED', `refusing to delete "${name}": not a tcpdiag fault table`);
  const result = await runNft(['delete', 'table', FAULT_TABLE_FAMILY, name]);
  return result.code === 0;
}

/** Names of the tcpdiag fault tables present in the kernel. */
export async function listFaultTables(): Promise<string[]> {
  const json = JSON.parse(await mustNft(['-j', 'list', 'tables', FAULT_TABLE_FAMILY])) as { nftables?: Array<{ table?: { name?: string } }> };
  return (json.nftables ?? []).flatMap((item) => (item.table?.name !== undefined && pidOfFaultTable(item.table.name) !== null ? [item.table.name] : []));
}

/**
 * The rules of one table as nft prints them, and the packets its counters matched: dropped by a
 * drop rule (loss, synack-drop), or marked for the NFQUEUE by a `meta mark set` rule (delay,
 * reorder: nothing is dropped; nft's JSON calls that statement `mangle`).
 */
export async function describeTable(name: string): Promise<{ rules: string[]; droppedPackets: number; markedPackets: number }> {
  const json = JSON.parse(await mustNft(['-j', 'list', 'table', FAULT_TABLE_FAMILY, name])) as { nftables?: Array<{ rule?: { expr?: Array<Record<string, unknown>> } }> };
  let dropped = 0;
  let marked = 0;
  for (const item of json.nftables ?? []) {
    const exprs = item.rule?.expr ?? [];
    const marks = exprs.some((expr) => 'mangle' in expr);
    for (const expr of exprs) {
      const counter = expr.counter as { packets?: number } | undefined;
      if (counter === undefined || typeof counter.packets !== 'number') continue;
      if (marks) marked += counter.packets;
      else dropped += counter.packets;
    }
  }
  const text = await mustNft(['list', 'table', FAULT_TABLE_FAMILY, name]);
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    // Every fault rule starts with the lease match (ruleset.ts): drops, and delay's marks.
    .filter((l) => l.startsWith('meta l4proto @'))
    .map((l) => l.replace(/ counter packets \d+ bytes \d+/, ' counter'));
  return { rules, droppedPackets: dropped, markedPackets: marked };
}
