/**
 * Which process owns which socket: /proc/PID/fd/N links read "socket:[INODE]" (proc(5)).
 * Without root only the caller's own processes are readable; the rest are skipped and counted
 * so the caller can say attribution is partial.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { SocketOwner } from '../../model/socket.js';

export interface OwnerScan {
  /** socket inode -> every process holding it (fork and SCM_RIGHTS share sockets). */
  readonly owners: Map<number, SocketOwner[]>;
  /** Processes whose fd table could not be read (permission), so owners may be missing. */
  readonly unreadableProcesses: number;
}

export interface OwnerScanOptions {
  readonly procRoot?: string;
  /** Only record these inodes (skips building entries for other sockets). */
  readonly inodes?: ReadonlySet<number>;
  /** Checked between processes: an abort stops the scan with the signal's reason. */
  readonly signal?: AbortSignal;
}

export function scanSocketOwners(options: OwnerScanOptions = {}): OwnerScan {
  const proc = options.procRoot ?? '/proc';
  const wanted = options.inodes;
  const owners = new Map<number, SocketOwner[]>();
  let unreadable = 0;
  const signal = options.signal;
  for (const entry of readdirSync(proc)) {
    signal?.throwIfAborted();
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const fdDir = `${proc}/${entry}/fd`;
    let fds: string[];
    try {
      fds = readdirSync(fdDir);
    } catch {
      unreadable++; // EACCES for other users' processes, ENOENT for ones that just exited
      continue;
    }
    let name: string | null = null;
    for (const fdName of fds) {
      let target: string;
      try {
        target = readlinkSync(`${fdDir}/${fdName}`);
      } catch {
        continue; // the fd closed between readdir and readlink
      }
      // "socket:[12345]"
      if (target.charCodeAt(0) !== 115 /* s */ || !target.startsWith('socket:[')) continue;
      const inode = Number(target.slice(8, -1));
      if (wanted !== undefined && !wanted.has(inode)) continue;
      name ??= processName(proc, entry);
      const owner: SocketOwner = { pid, process: name, fd: Number(fdName) };
      const list = owners.get(inode);
      if (list) list.push(owner);
      else owners.set(inode, [owner]);
    }
  }
  return { owners, unreadableProcesses: unreadable };
}

/** The short command name (/proc/PID/comm, at most 15 characters: TASK_COMM_LEN). */
export function processName(proc: string, pid: string): string {
  try {
    return readFileSync(`${proc}/${pid}/comm`, 'utf8').trimEnd();
  } catch {
    return '?';
  }
}
