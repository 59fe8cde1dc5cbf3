/** What tracing through tracefs needs from this host: its capability, tracefs (mounted, or mountable), the TCP tracepoints. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Issue } from '../../model/issue.js';
import { issue, issueFromError } from '../../model/issue.js';
import { findExecutable, TRACEFS_MOUNT_COMMAND, tracefsRoot } from '../../platform/capabilities.js';
import { hasCapabilities, NEEDS, privilegeError } from '../../platform/privileges.js';

/** Problems that stop tracefs tracing here (empty when it works). */
export function tracefsIssues(): Issue[] {
  const need = NEEDS.trace();
  if (!hasCapabilities(need.capabilities)) return [issueFromError(privilegeError(need))];
  const root = tracefsRoot();
  if (root === null) {
    // ensureTracefs() mounts it when tracing starts; only a host without mount(8) cannot.
    return findExecutable('mount') !== null ? [] : [issue('TCPDIAG_KERNEL_FEATURE', 'tracefs is not mounted', `run \`${TRACEFS_MOUNT_COMMAND}\``)];
  }
  if (!existsSync(join(root, 'events', 'sock', 'inet_sock_set_state'))) {
    return [issue('TCPDIAG_KERNEL_FEATURE', 'the kernel has no sock:inet_sock_set_state tracepoint (Linux 4.16 or later has it)', 'use `tcpdiag conns --watch` (no tracing)')];
  }
  return [];
}
