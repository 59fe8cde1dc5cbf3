/**
 * What each privileged operation needs, by capability (capabilities(7)), and the lines that
 * grant exactly that to a user or a service instead of root. Each requirement was measured on
 * Debian 12 (kernel 6.18) as uid 65534 given only the named capabilities as ambient ones
 * (`setpriv --reuid=65534 --inh-caps=+CAP --ambient-caps=+CAP`):
 * - tcpdump opens -i any, lo and eth0 with CAP_NET_RAW alone (CAP_NET_ADMIN is not needed);
 * - nft needs CAP_NET_ADMIN ("Operation not permitted (you must be root)" without it);
 * - tracefs (/sys/kernel/tracing, root's, mode 0700): CAP_DAC_READ_SEARCH only lists it,
 *   creating an instance, enabling events and reading trace_pipe_raw need CAP_DAC_OVERRIDE;
 *   CAP_SYS_ADMIN, CAP_BPF and CAP_PERFMON are not needed;
 * - bpftrace 0.17 (trace --detail) refuses any uid but 0 ("bpftrace currently only supports
 *   running as the root user") with CAP_BPF+CAP_PERFMON, with CAP_SYS_ADMIN, and with both
 *   DAC capabilities added;
 * - another user's /proc/PID/fd: listing it needs CAP_DAC_READ_SEARCH (mode 0500), reading its
 *   links CAP_SYS_PTRACE (ptrace_may_access in proc_fd_link); neither alone is enough.
 */
import { readFileSync } from 'node:fs';
import { PrivilegeError } from '../errors.js';
import { findExecutable } from './capabilities.js';

/** Bit numbers from include/uapi/linux/capability.h. */
export const CAPABILITY_BITS = {
  CAP_DAC_OVERRIDE: 1,
  CAP_DAC_READ_SEARCH: 2,
  CAP_KILL: 5,
  CAP_NET_ADMIN: 12,
  CAP_NET_RAW: 13,
  CAP_SYS_PTRACE: 19,
  CAP_SYS_ADMIN: 21,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
} as const;

export type Capability = keyof typeof CAPABILITY_BITS;

/** The effective capabilities in a /proc/PID/status text (its CapEff line, hex). */
export function effectiveCapabilities(status?: string): Set<Capability> {
  let text = status;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/status', 'utf8');
    } catch {
      text = '';
    }
  }
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(text)?.[1];
  const mask = hex === undefined ? 0n : BigInt(`0x${hex}`);
  const caps = new Set<Capability>();
  for (const [name, bit] of Object.entries(CAPABILITY_BITS) as Array<[Capability, number]>) {
    if ((mask >> BigInt(bit)) & 1n) caps.add(name);
  }
  return caps;
}

export function hasCapabilities(needed: readonly Capability[], have: ReadonlySet<Capability> = effectiveCapabilities()): boolean {
  return needed.every((cap) => have.has(cap));
}

export interface PrivilegeNeed {
  /** What is refused, as the user named it: 'packet capture (tcpdump)'. */
  readonly what: string;
  /** The capabilities that are enough; empty when only root will do. */
  readonly capabilities: readonly Capability[];
  /** Why those, in a few words; appended to the message. */
  readonly why: string;
  /** The command to run as root, e.g. 'sudo tcpdiag capture ...'. */
  readonly sudo: string;
  /** setcap or systemd lines granting the capabilities, most specific first. */
  readonly grants: readonly string[];
  /** What works without them. */
  readonly without: string;
}

const SYSTEMD = (caps: readonly Capability[]): string => `in the systemd unit of a service running tcpdiag: AmbientCapabilities=${caps.join(' ')}`;
const NO_SETCAP_NODE = 'no setcap line for tcpdiag itself: it runs on node, and file capabilities on node would hold for every node script';

export const NEEDS = {
  capture: (): PrivilegeNeed => ({
    what: 'packet capture (tcpdump)',
    capabilities: ['CAP_NET_RAW'],
    why: 'to open a packet socket',
    sudo: 'sudo tcpdiag capture ...',
    grants: [`let tcpdump capture for every user: sudo setcap cap_net_raw+ep ${findExecutable('tcpdump') ?? '/usr/bin/tcpdump'}`, SYSTEMD(['CAP_NET_RAW'])],
    without: 'tcpdiag analyze FILE reads a saved capture; conns, listeners and stats need no privileges',
  }),
  trace: (): PrivilegeNeed => ({
    what: 'tcpdiag trace (tracefs)',
    capabilities: ['CAP_DAC_OVERRIDE'],
    why: 'tracefs belongs to root (mode 0700); CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN are not needed',
    sudo: 'sudo tcpdiag trace ...',
    grants: [SYSTEMD(['CAP_DAC_OVERRIDE']), NO_SETCAP_NODE],
    without: 'tcpdiag conns --watch and tcpdiag stats --interval show states and counters without tracing',
  }),
  traceDetail: (): PrivilegeNeed => ({
    what: 'tcpdiag trace --detail (bpftrace)',
    capabilities: [],
    why: 'this bpftrace refuses every user but root, whatever its capabilities (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN)',
    sudo: 'sudo tcpdiag trace --detail ...',
    grants: [],
    without: 'tcpdiag trace without --detail needs only CAP_DAC_OVERRIDE (AmbientCapabilities=CAP_DAC_OVERRIDE)',
  }),
  fault: (): PrivilegeNeed => ({
    what: 'tcpdiag fault (nftables)',
    capabilities: ['CAP_NET_ADMIN'],
    why: 'nft changes the firewall',
    sudo: 'sudo tcpdiag fault ...',
    // Not `setcap cap_net_admin+ep nft`: that would let every user rewrite the firewall.
    grants: [SYSTEMD(['CAP_NET_ADMIN'])],
    without: 'tcpdiag proxy injects latency, bandwidth limits and resets, and tcpdiag server its faults, without privileges',
  }),
  cleanup: (): PrivilegeNeed => ({
    what: 'tcpdiag cleanup',
    capabilities: ['CAP_DAC_OVERRIDE', 'CAP_NET_ADMIN', 'CAP_SYS_PTRACE', 'CAP_KILL'],
    why: 'tracefs, nft, and the environment and signals of other users\' processes',
    sudo: 'sudo tcpdiag cleanup',
    grants: [],
    without: 'nothing: what it removes belongs to root',
  }),
} as const;

/** The refusal for `need`: the capabilities in the message, how to get them in the hint. */
export function privilegeError(need: PrivilegeNeed): PrivilegeError {
  const needs = need.capabilities.length === 0 ? 'root' : `${need.capabilities.join(' + ')} (or root)`;
  const hint = [`run it as root: ${need.sudo}`, ...need.grants.map((g) => (g.startsWith('no setcap') ? g : `or ${g}`)), `without it: ${need.without}`];
  return new PrivilegeError(need.what, hint.join('\n'), `${needs}: ${need.why}`);
}

/** Throw the refusal unless this process has what `need` names (root with every capability does). */
export function requirePrivileges(need: PrivilegeNeed): void {
  const enough = need.capabilities.length === 0 ? process.geteuid?.() === 0 : hasCapabilities(need.capabilities);
  if (!enough) throw privilegeError(need);
}

export function requireCleanupPrivileges(): void {
  requirePrivileges(NEEDS.cleanup());
}
