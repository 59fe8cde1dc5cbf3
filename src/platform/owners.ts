/**
 * Everything tcpdiag leaves outside its own heap carries the pid of the tcpdiag process that
 * made it: tracefs instances are named tcpdiag-PID[-N], nft tables tcpdiag_fault_PID, child
 * processes hold TCPDIAG_PARENT=PID in their environment (children.ts). A thing whose owner is
 * no longer running was left behind (SIGKILL, the OOM killer, a crash) and is safe to remove.
 *
 * "Running" excludes zombies: a dead process stays in /proc as a zombie until its parent reaps
 * it, and a container's init may never do so (measured here: children of a killed tcpdiag were
 * re-parented to pid 1 and stayed `Z`). A pid reused by an unrelated process makes a leftover
 * look owned; that errs on the safe side (it is kept, and reported once that process is gone).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OWNER_ENV } from './children.js';

export const TRACEFS_INSTANCE_PREFIX = 'tcpdiag-';

/** tcpdiag-PID, or tcpdiag-PID-N for a second trace running at the same time in one process. */
const INSTANCE_NAME = /^tcpdiag-(\d+)(?:-\d+)?$/;

/** The pid a tcpdiag tracefs instance name belongs to; null when the name is not one of ours. */
export function pidOfTracefsInstance(name: string): number | null {
  const m = INSTANCE_NAME.exec(name);
  return m === null ? null : Number(m[1]);
}

/** Whether `pid` is a live (not zombie) process. */
export function isRunning(pid: number, procRoot = '/proc'): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  let stat: string;
  try {
    stat = readFileSync(join(procRoot, String(pid), 'stat'), 'utf8');
  } catch {
    return false;
  }
  // "pid (comm) S ...": comm may hold spaces and parentheses, the state follows the last ')'.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X' && state !== 'x';
}

export interface OwnedInstance {
  readonly name: string;
  readonly path: string;
  readonly pid: number;
}

/**
 * tcpdiag's tracefs instances whose process is gone: one readdir, then one read per tcpdiag
 * instance (cheap enough for every command run as root). Empty when tracefs is unreadable.
 */
export function staleTracefsInstances(tracefsRoot: string, procRoot = '/proc'): OwnedInstance[] {
  let names: string[];
  try {
    names = readdirSync(join(tracefsRoot, 'instances'));
  } catch {
    return [];
  }
  const stale: OwnedInstance[] = [];
  for (const name of names) {
    const pid = pidOfTracefsInstance(name);
    if (pid !== null && !isRunning(pid, procRoot)) stale.push({ name, path: join(tracefsRoot, 'instances', name), pid });
  }
  return stale;
}

export interface OwnedProcess {
  readonly pid: number;
  /** The tcpdiag process that started it (TCPDIAG_PARENT). */
  readonly ownerPid: number;
  /** Its command line, arguments joined by spaces. */
  readonly command: string;
}

/**
 * Live processes started by a tcpdiag process (their environment holds TCPDIAG_PARENT). Reads
 * /proc/PID/environ, which only root (CAP_SYS_PTRACE) can read for other users' processes;
 * without it, only this user's processes are seen.
 */
export function ownedProcesses(procRoot = '/proc'): OwnedProcess[] {
  const marker = `${OWNER_ENV}=`;
  const found: OwnedProcess[] = [];
  let entries: string[];
  try {
    entries = readdirSync(procRoot);
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let environ: string;
    try {
      environ = readFileSync(join(procRoot, entry, 'environ'), 'latin1');
    } catch {
      continue; // gone, or another user's without the capability
    }
    if (!environ.includes(marker)) continue;
    const variable = environ.split('\0').find((v) => v.startsWith(marker));
    const ownerPid = Number(variable?.slice(marker.length));
    const pid = Number(entry);
    if (!Number.isInteger(ownerPid) || ownerPid <= 0 || !isRunning(pid, procRoot)) continue;
    found.push({ pid, ownerPid, command: commandLine(procRoot, pid) });
  }
  return found;
}

function commandLine(procRoot: string, pid: number): string {
  try {
    return readFileSync(join(procRoot, String(pid), 'cmdline'), 'utf8').replace(/\0+$/, '').split('\0').join(' ');
  } catch {
    return '';
  }
}
