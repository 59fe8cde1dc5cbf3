/**
 * Find tracefs, mounting it when we are root and it is not mounted (a fresh machine may not
 * have it: scripts/setup.sh mounts it, but a user may run tcpdiag first). Without root there
 * is nothing to try: say exactly what to run.
 */
import { spawnSync } from 'node:child_process';
import { KernelFeatureError } from '../../errors.js';
import { TRACEFS_MOUNT_COMMAND, findExecutable, tracefsRoot } from '../../platform/capabilities.js';
import { NEEDS, requirePrivileges } from '../../platform/privileges.js';

export interface TracefsLocation {
  readonly root: string;
  /** Set when tcpdiag mounted tracefs itself (the CLI prints it on stderr). */
  readonly note: string | null;
}

export function ensureTracefs(what: string): TracefsLocation {
  requirePrivileges({ ...NEEDS.trace(), what: `${what} (tracefs)`, sudo: `sudo ${what} ...` });
  const existing = tracefsRoot();
  if (existing !== null) return { root: existing, note: null };
  const mount = findExecutable('mount');
  if (mount !== null) {
    const result = spawnSync(mount, ['-t', 'tracefs', 'nodev', '/sys/kernel/tracing'], { encoding: 'utf8', timeout: 10_000 });
    const mounted = tracefsRoot();
    if (result.status === 0 && mounted !== null) {
      return { root: mounted, note: `tracefs was not mounted; mounted it: ${TRACEFS_MOUNT_COMMAND}` };
    }
  }
  throw new KernelFeatureError('tracefs is not mounted and mounting it failed',
    `run \`${TRACEFS_MOUNT_COMMAND}\` (the kernel needs CONFIG_TRACING), or use \`tcpdiag conns --watch\` (no tracing)`);
}
