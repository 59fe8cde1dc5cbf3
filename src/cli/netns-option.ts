/**
 * `-N, --netns NAME|PID|PATH` (ss's -N): run a command against another network namespace.
 * The one declaration of the flag, for every command that takes it (conns, listeners, stats,
 * trace, capture, diagnose): a name from `ip netns list`, a process id, or a path such as
 * /proc/PID/ns/net. Checked when the flags are parsed, with what exists named.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { UsageError } from '../errors.js';
import type { NetnsRef } from '../platform/netns.js';
import { ownNetnsInode, resolveNetns } from '../platform/netns.js';

export interface NetnsFlags {
  netns?: NetnsRef;
}

function parseNetnsFlag(text: string): NetnsRef {
  try {
    return resolveNetns(text);
  } catch (error: unknown) {
    if (error instanceof UsageError) throw new InvalidArgumentError(`${error.message.replace(/^--netns [^:]*: /, '')}${error.hint === undefined ? '' : `; ${error.hint}`}`);
    throw error;
  }
}

export function addNetnsOption(command: Command, what = 'sockets'): Command {
  return command.option('-N, --netns <name|pid|path>', `the ${what} of this network namespace: a name from \`ip netns list\`, a PID, or a path (/proc/PID/ns/net)`, parseNetnsFlag);
}

/** The namespace to read, or undefined for our own (naming our own namespace changes nothing). */
export function netnsFromFlags(flags: NetnsFlags): NetnsRef | undefined {
  return flags.netns === undefined || flags.netns.inode === ownNetnsInode() ? undefined : flags.netns;
}
