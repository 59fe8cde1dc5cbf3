/** What --detail (bpftrace on the TCP tracepoints, socket fields through BTF) needs from this host. */
import type { Issue } from '../../model/issue.js';
import { issue, issueFromError } from '../../model/issue.js';
import { findExecutable, hasKernelBtf, isRoot } from '../../platform/capabilities.js';
import { NEEDS, privilegeError } from '../../platform/privileges.js';

/** Problems that stop bpftrace here (empty when it works). */
export function bpftraceIssues(): Issue[] {
  const issues: Issue[] = [];
  if (findExecutable('bpftrace') === null) issues.push(issue('TCPDIAG_TOOL_MISSING', 'bpftrace is not installed', 'install it: apt-get install -y bpftrace'));
  if (!hasKernelBtf()) {
    issues.push(issue('TCPDIAG_KERNEL_FEATURE', 'the kernel has no BTF (/sys/kernel/btf/vmlinux), which bpftrace needs to read socket fields',
      'use a kernel built with CONFIG_DEBUG_INFO_BTF=y, or trace without --detail'));
  }
  // This bpftrace refuses every user but root, whatever its capabilities (platform/privileges.ts).
  if (!isRoot()) issues.push(issueFromError(privilegeError(NEEDS.traceDetail())));
  return issues;
}
