/**
 * File descriptors in use and RLIMIT_NOFILE per process (proc(5): /proc/PID/fd, /proc/PID/limits,
 * /proc/PID/status), the facts behind "accept() fails with EMFILE". Another user's fd table
 * needs root (ptrace read access): those processes get nulls and are counted as unreadable.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { ProcessResources } from '../../model/process.js';
import { processName } from './processes.js';

export interface ResourceScan {
  readonly processes: ProcessResources[];
  /** Processes whose fd table or limits could not be read (permission). */
  readonly unreadable: number;
}

export function readProcessResources(pids: Iterable<number>, procRoot = '/proc', signal?: AbortSignal): ResourceScan {
  const processes: ProcessResources[] = [];
  let unreadable = 0;
  for (const pid of pids) {
    signal?.throwIfAborted();
    const dir = `${procRoot}/${pid}`;
    let status: string;
    try {
      status = readFileSync(`${dir}/status`, 'latin1');
    } catch {
      continue; // exited since it was named
    }
    let openFds: number | null = null;
    try {
      openFds = readdirSync(`${dir}/fd`).length;
    } catch {
      unreadable++;
    }
    const limits = parseLimits(readOptional(`${dir}/limits`));
    const threads = /^Threads:\s*(\d+)/m.exec(status)?.[1];
    processes.push({
      pid,
      process: processName(procRoot, String(pid)),
      openFds,
      fdLimitSoft: limits.soft,
      fdLimitHard: limits.hard,
      threads: threads === undefined ? null : Number(threads),
    });
  }
  return { processes, unreadable };
}

/** "Max open files            1024                 524288               files" */
export function parseLimits(text: string): { soft: number | null; hard: number | null } {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  const value = (v: string | undefined): number | null => (v === undefined || v === 'unlimited' ? null : Number(v));
  return { soft: value(m?.[1]), hard: value(m?.[2]) };
}

function readOptional(path: string): string {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return '';
  }
}
