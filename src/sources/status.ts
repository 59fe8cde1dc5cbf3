/**
 * What each backend can do on this host, checked the cheap way (files, executables, uid) so
 * that a report or the agent's /api/health can call it at any time. A backend listed
 * unavailable says why and what to run in its issues.
 */
import type { Issue } from '../model/issue.js';
import { issue, issueFromError } from '../model/issue.js';
import type { BackendStatus } from './source.js';
import { procfsIssues } from './procfs/available.js';
import { sockDiagAvailable } from './sockdiag/index.js';
import { tracefsIssues } from './tracefs/available.js';
import { bpftraceIssues } from './ebpf/available.js';
import { tcpdumpUnavailable } from './pcap/available.js';
import { hasCapabilities, NEEDS, privilegeError } from '../platform/privileges.js';

export function backendStatus(): BackendStatus[] {
  const procfs = procfsIssues();
  const diag = sockDiagAvailable();
  const tracefs = tracefsIssues();
  const bpftrace = bpftraceIssues();
  const tcpdump = tcpdumpUnavailable();
  const none: readonly Issue[] = [];
  return [
    {
      backend: 'procfs', kind: 'snapshot', available: procfs.available, issues: procfs.issues,
      gives: ['socket table without tcp_info', 'TCP counters (snmp, netstat, sockstat)', 'sysctls', 'socket owners', 'process open files and limits'],
    },
    {
      backend: 'sockdiag', kind: 'snapshot', available: diag.ok,
      issues: diag.ok ? none : [issue('TCPDIAG_ADDON_MISSING', `netlink sock_diag unavailable (${diag.reason})`, 'npm run install (in the tcpdiag package directory; needs python3, make and g++)')],
      gives: ['socket table with tcp_info, memory and congestion control', 'in-kernel state filter', 'listen() backlogs', 'fast state counts'],
    },
    {
      backend: 'tracefs', kind: 'events', available: tracefs.length === 0, issues: tracefs,
      gives: ['kernel TCP events: state changes, retransmits, resets, probes (tracepoints)', 'kernel-side filters', 'per-CPU loss counters'],
    },
    {
      backend: 'bpftrace', kind: 'events', available: bpftrace.length === 0, issues: bpftrace,
      gives: ['kernel TCP events with socket fields (cwnd, windows, bytes, backlog)'],
    },
    {
      backend: 'tcpdump', kind: 'events', available: tcpdump === null,
      // Degraded, not unavailable: tcpdump may hold CAP_NET_RAW itself (setcap).
      issues: tcpdump !== null ? [issueFromError(tcpdump)] : hasCapabilities(NEEDS.capture().capabilities) ? none : [issueFromError(privilegeError(NEEDS.capture()))],
      gives: ['live packets as a pcap stream', 'kernel drop counts'],
    },
    { backend: 'pcap-file', kind: 'events', available: true, issues: none, gives: ['pcap and pcapng files'] },
  ];
}
