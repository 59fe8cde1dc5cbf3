/**
 * What this machine lets tcpdiag do: root, tracefs, BTF, tools on PATH. Commands check these
 * up front and say plainly what is missing and the command that grants it (style guide, habit 6).
 */
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export function isRoot(): boolean {
  return typeof process.geteuid === 'function' && process.geteuid() === 0;
}

/** Absolute path of an executable on PATH, or null. Never goes through a shell. */
export function findExecutable(name: string, pathEnv = process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'): string | null {
  const dirs = pathEnv.split(delimiter).concat(['/usr/sbin', '/sbin', '/usr/local/sbin']);
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return null;
}

export const TRACEFS_PATHS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'] as const;

/**
 * The mounted tracefs root, or null. tracefs is mounted when its `trace_pipe` exists. stat, not
 * access(2) (existsSync): access checks the real uid and ignores capabilities, so a user holding
 * CAP_DAC_OVERRIDE (AmbientCapabilities=) would be told tracefs is not mounted.
 */
export function tracefsRoot(): string | null {
  for (const path of TRACEFS_PATHS) {
    try {
      if (statSync(join(path, 'trace_pipe'), { throwIfNoEntry: false }) !== undefined) return path;
    } catch {
      // EACCES: not ours to see (tracefs is root's, mode 0700)
    }
  }
  return null;
}

export const TRACEFS_MOUNT_COMMAND = 'mount -t tracefs nodev /sys/kernel/tracing';

export function hasKernelBtf(): boolean {
  return existsSync('/sys/kernel/btf/vmlinux');
}

/** Value of a sysctl under /proc/sys (dots or slashes), or null when absent/unreadable. */
export function readSysctl(name: string): string | null {
  try {
    return readFileSync(join('/proc/sys', name.replace(/\./g, '/')), 'utf8').trim().replace(/\s+/g, ' ');
  } catch {
    return null;
  }
}
