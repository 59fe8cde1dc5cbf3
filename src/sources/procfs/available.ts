/** What the procfs backend needs: /proc mounted; root only to name other users' processes. */
import { accessSync, constants } from 'node:fs';
import type { Issue } from '../../model/issue.js';
import { issue } from '../../model/issue.js';
import { isRoot } from '../../platform/capabilities.js';

/** `available` false when /proc/net/tcp cannot be read at all. */
export function procfsIssues(procRoot = '/proc'): { available: boolean; issues: Issue[] } {
  try {
    accessSync(`${procRoot}/net/tcp`, constants.R_OK);
  } catch {
    return { available: false, issues: [issue('TCPDIAG_KERNEL_FEATURE', `${procRoot}/net/tcp cannot be read`, 'mount procfs: mount -t proc proc /proc')] };
  }
  if (isRoot()) return { available: true, issues: [] };
  return {
    available: true,
    issues: [issue('TCPDIAG_NEEDS_ROOT', "owners and open-file counts of other users' processes need root",
      "rerun with sudo (reading another user's /proc/PID/fd needs CAP_SYS_PTRACE)")],
  };
}
