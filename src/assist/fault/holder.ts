/**
 * The user-space half of `fault delay` / `fault reorder`: an NFQUEUE bound by the native addon
 * (native/nfqueue.c, whose own thread holds each packet and gives its verdict, away from
 * Node's event loop) and the iptables/ip6tables rules that queue the packets the fault table
 * marks (ruleset.ts, DELAY_MARK). Everything is undone by the caller's scope (the rules, then
 * the queue, which lets every held packet through), and each rule also by a guard process if
 * tcpdiag is killed; the queue then closes with the process (its held packets are dropped by
 * the kernel, nfqnl_flush), and with the fault table's lease gone nothing is marked any more.
 */
import { spawnSync } from 'node:child_process';
import { KernelFeatureError, TcpdiagError, ToolMissingError, isErrnoException } from '../../errors.js';
import { findExecutable } from '../../platform/capabilities.js';
import { startGuard } from '../../platform/guard.js';
import type { Scope } from '../../platform/scope.js';
import { loadNative } from '../../native/index.js';
import type { NativeAddon, NfqueueStats } from '../../native/index.js';
import { nfqueueRuleArgs } from './ruleset.js';
import { runTool } from './nft.js';
import { nftTableExists, removeEmptyXtablesTable, xtablesNftFamily } from './queue-rules.js';

export interface HolderOptions {
  /** The fault table this belongs to (the rules' comment). */
  readonly table: string;
  readonly delayMs: number;
  readonly jitterMs: number;
  /** Share of the queued packets held (reorder); the rest pass at once. */
  readonly heldPercent: number;
  readonly scope: Scope;
  readonly onWarning?: (text: string) => void;
}

export interface Holder {
  readonly queue: number;
  /** The iptables rules, as `iptables ARGS` lines. */
  readonly rules: readonly string[];
  stats(): NfqueueStats;
  /** Remove the rules, let every held packet through, unbind: the final counters. */
  stop(): Promise<NfqueueStats>;
}

/** Queue numbers tried, from one derived from our pid: other NFQUEUE users mostly take 0-7. */
const QUEUE_BASE = 31_000;
const QUEUE_TRIES = 64;

type NfqueueAddon = NativeAddon & Required<Pick<NativeAddon, 'nfqueueOpen' | 'nfqueueStats' | 'nfqueueClose'>>;

function nfqueueAddon(): NfqueueAddon {
  const { addon, error } = loadNative();
  if (addon === null) throw new KernelFeatureError(`fault delay needs the native addon: ${error}`, 'rebuild it: npm run install (needs python3, make and g++)');
  if (typeof addon.nfqueueOpen !== 'function' || typeof addon.nfqueueStats !== 'function' || typeof addon.nfqueueClose !== 'function') {
    throw new KernelFeatureError('the native addon was built without NFQUEUE support', 'rebuild it: npm run install');
  }
  return addon as NfqueueAddon;
}

function openQueue(addon: NfqueueAddon, options: HolderOptions): { handle: number; queue: number } {
  const first = QUEUE_BASE + (process.pid % 1000) * 4;
  for (let i = 0; i < QUEUE_TRIES; i++) {
    const queue = (first + i) % 65536;
    try {
      const handle = addon.nfqueueOpen(queue, Math.round(options.delayMs * 1000), Math.round(options.jitterMs * 1000), options.heldPercent);
      return { handle, queue };
    } catch (error: unknown) {
      if (isErrnoException(error) && error.code === 'EBUSY') continue; // another process reads it
      throw new TcpdiagError('TCPDIAG_KERNEL_FEATURE', `cannot bind an NFQUEUE: ${error instanceof Error ? error.message : String(error)}`, {
        hint: 'the kernel needs CONFIG_NETFILTER_NETLINK_QUEUE, and tcpdiag CAP_NET_ADMIN',
        cause: error,
      });
    }
  }
  throw new TcpdiagError('TCPDIAG_KERNEL_FEATURE', `every NFQUEUE from ${first} to ${first + QUEUE_TRIES - 1} is taken`, { hint: 'stop other NFQUEUE readers, or retry' });
}

export async function startHolder(options: HolderOptions): Promise<Holder> {
  const addon = nfqueueAddon();
  const iptables = findExecutable('iptables');
  if (iptables === null) throw new ToolMissingError('iptables (its NFQUEUE target queues the delayed packets)', 'iptables');
  const ip6tables = findExecutable('ip6tables');
  const { handle, queue } = openQueue(addon, options);
  let closed: NfqueueStats | null = null;
  const close = (): NfqueueStats => {
    closed ??= addon.nfqueueClose(handle);
    return closed;
  };
  const releaseQueue = options.scope.defer(`NFQUEUE ${queue}`, () => void close(), { sync: () => void close() });
  const installed: Array<{ tool: string; remove: () => Promise<void>; label: string }> = [];
  try {
    for (const tool of ip6tables === null ? [iptables] : [iptables, ip6tables]) {
      // With iptables-nft our rule may create the filter table: then it goes with the rule.
      const family = await xtablesNftFamily(tool);
      const createsTable = family !== null && !(await nftTableExists(family, 'filter'));
      const add = await runTool(tool, nfqueueRuleArgs('-I', options.table, queue));
      if (add.code !== 0) {
        // Without IPv6 netfilter the IPv4 rule still does its job for IPv4 connections.
        if (tool === ip6tables) {
          options.onWarning?.(`ip6tables refused the NFQUEUE rule, so IPv6 connections are not delayed: ${add.stderr.trim()}`);
          continue;
        }
        throw new TcpdiagError('TCPDIAG_IPTABLES_FAILED', `iptables refused the NFQUEUE rule: ${add.stderr.trim()}`, {
          hint: 'the kernel needs the xtables NFQUEUE target (CONFIG_NETFILTER_XT_TARGET_NFQUEUE) and the mark and comment matches',
        });
      }
      const del = nfqueueRuleArgs('-D', options.table, queue);
      const guard = startGuard(`${tool} NFQUEUE ${queue}`, [tool, ...del]);
      let removed = false;
      const remove = async (): Promise<void> => {
        if (removed) return;
        removed = true;
        const result = await runTool(tool, del);
        if (result.code !== 0) options.onWarning?.(`${tool} could not remove its NFQUEUE rule: ${result.stderr.trim()}`);
        guard.dismiss();
        if (createsTable && family !== null) await removeEmptyXtablesTable(family);
      };
      const unregister = options.scope.defer(`${tool} NFQUEUE rule`, remove, {
        sync: () => {
          if (!removed) spawnSync(tool, del, { stdio: 'ignore' });
          removed = true;
          guard.dismiss();
        },
      });
      installed.push({ tool, label: `${tool.split('/').pop() ?? tool} ${nfqueueRuleArgs('-I', options.table, queue).join(' ')}`, remove: async () => {
        await remove();
        unregister();
      } });
    }
  } catch (error: unknown) {
    for (const rule of installed.reverse()) await rule.remove();
    close();
    releaseQueue();
    throw error;
  }
  return {
    queue,
    rules: installed.map((r) => r.label),
    stats: () => closed ?? addon.nfqueueStats(handle),
    stop: async () => {
      for (const rule of [...installed].reverse()) await rule.remove();
      const final = close();
      releaseQueue();
      return final;
    },
  };
}

/** The lateness percentile from the holder's log2 buckets (an upper bound: the bucket's top). */
export function latenessPercentileUs(stats: NfqueueStats, fraction: number): number {
  const total = stats.lateBucketsLog2Us.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  let seen = 0;
  for (let b = 0; b < stats.lateBucketsLog2Us.length; b++) {
    seen += stats.lateBucketsLog2Us[b] ?? 0;
    if (seen >= fraction * total) return Math.round(Math.min(2 ** (b + 1), stats.lateMaxUs));
  }
  return Math.round(stats.lateMaxUs);
}
