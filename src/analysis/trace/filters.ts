/**
 * `tcpdiag trace` filters, applied in the kernel where the tracepoint has the field (tracefs
 * event filters, Documentation/trace/events.rst section 5), and in user space for the rest:
 * address ranges (the filter language has no CIDR match on byte arrays), --pid (passive opens
 * run in softirq, where common_pid is not the owner) and tcp_send_reset, whose endpoints are
 * sockaddr bytes rather than port fields.
 */
import type { Cidr } from '../../model/address.js';
import { cidrContains } from '../../model/address.js';
import type { TraceEvent, TraceMode } from './events.js';
import type { Endpoint } from '../../model/socket.js';
import type { TracepointName } from '../../model/kernel-event.js';

export interface TraceFilters {
  /** Either end's port is one of these. */
  readonly ports: readonly number[];
  readonly sports: readonly number[];
  readonly dports: readonly number[];
  readonly cidrs: readonly Cidr[];
  readonly pids: readonly number[];
}

export const NO_FILTERS: TraceFilters = { ports: [], sports: [], dports: [], cidrs: [], pids: [] };


/** Which tracepoints each mode needs (kernel/trace cost is per enabled event). */
export const MODE_TRACEPOINTS: Record<TraceMode, readonly TracepointName[]> = {
  // SYN retransmissions and RSTs tell a timeout from a refusal.
  connect: ['inet_sock_set_state', 'tcp_retransmit_skb', 'tcp_receive_reset'],
  accept: ['inet_sock_set_state'],
  states: ['inet_sock_set_state'],
  retrans: ['tcp_retransmit_skb', 'tcp_retransmit_synack'],
  resets: ['tcp_send_reset', 'tcp_receive_reset'],
  life: ['inet_sock_set_state'],
  all: ['inet_sock_set_state', 'tcp_retransmit_skb', 'tcp_retransmit_synack', 'tcp_send_reset', 'tcp_receive_reset'],
};

function anyOf(clauses: readonly string[]): string | null {
  if (clauses.length === 0) return null;
  return clauses.length === 1 ? clauses[0]! : `(${clauses.join(' || ')})`;
}

function allOf(clauses: ReadonlyArray<string | null>): string | null {
  const present = clauses.filter((c): c is string => c !== null);
  if (present.length === 0) return null;
  return present.map((c) => (present.length > 1 && c.includes('||') && !c.startsWith('(') ? `(${c})` : c)).join(' && ');
}

/** The port part of a filter, for tracepoints with sport/dport fields. */
function portClause(filters: TraceFilters): string | null {
  // Ports are validated integers (parsePort), never text from the user.
  return allOf([
    anyOf(filters.ports.map((p) => `(sport == ${p} || dport == ${p})`)),
    anyOf(filters.sports.map((p) => `sport == ${p}`)),
    anyOf(filters.dports.map((p) => `dport == ${p}`)),
  ]);
}

/**
 * The kernel filter for one tracepoint in one mode, or null for none. States are kernel
 * numbers (include/net/tcp_states.h): 1 ESTABLISHED, 2 SYN_SENT, 3 SYN_RECV, 7 CLOSE, 10 LISTEN.
 */
export function kernelFilter(tracepoint: TracepointName, mode: TraceMode, filters: TraceFilters): string | null {
  switch (tracepoint) {
    case 'inet_sock_set_state': {
      let states: string | null = null;
      // connect: the start of an active open and where it ends; accept: a listener's child, its
      // end, and listeners being created (to learn their owners).
      if (mode === 'connect') states = '((oldstate == 7 && newstate == 2) || oldstate == 2)';
      if (mode === 'accept') states = '((oldstate == 10 && newstate == 3) || oldstate == 3 || newstate == 10)';
      return allOf(['protocol == 6', states, portClause(filters)]);
    }
    case 'tcp_retransmit_skb':
      return allOf([mode === 'connect' ? 'state == 2' : null, portClause(filters)]);
    case 'tcp_retransmit_synack':
    case 'tcp_receive_reset':
      return portClause(filters);
    case 'tcp_send_reset':
      return null; // endpoints are sockaddr bytes: filtered in user space
  }
}

/** The user-space part: what the kernel could not filter. */
export function matchesFilters(event: TraceEvent, filters: TraceFilters): boolean {
  if (event.type === 'lost') return true;
  const local = event.local;
  const remote = event.remote;
  if (local === null || remote === null) return true;
  if (!endpointsMatch(local, remote, filters)) return false;
  if (filters.pids.length > 0 && (event.pid === null || !filters.pids.includes(event.pid))) return false;
  return true;
}

/** The same filters on a socket of the table (states --stats). */
export function socketMatchesFilters(sock: { readonly local: Endpoint; readonly remote: Endpoint }, filters: TraceFilters): boolean {
  return endpointsMatch(sock.local, sock.remote, filters);
}

function endpointsMatch(local: Endpoint, remote: Endpoint, filters: TraceFilters): boolean {
  if (filters.ports.length > 0 && !filters.ports.some((p) => local.port === p || remote.port === p)) return false;
  if (filters.sports.length > 0 && !filters.sports.includes(local.port)) return false;
  if (filters.dports.length > 0 && !filters.dports.includes(remote.port)) return false;
  if (filters.cidrs.length > 0 && !filters.cidrs.some((c) => cidrContains(c, local.address) || cidrContains(c, remote.address))) return false;
  return true;
}

export function hasUserFilters(filters: TraceFilters): boolean {
  return filters.ports.length + filters.sports.length + filters.dports.length + filters.cidrs.length + filters.pids.length > 0;
}

/**
 * What is left for user space once the kernel has filtered: port filters only when one of the
 * mode's tracepoints cannot take them (tcp_send_reset), address ranges and pids always. At 10^5
 * events a second, checking again what the kernel already checked is a cost worth skipping.
 */
export function userSpaceFilters(mode: TraceMode, filters: TraceFilters): TraceFilters {
  const kernelDoesPorts = MODE_TRACEPOINTS[mode].every((tracepoint) => tracepoint !== 'tcp_send_reset');
  return kernelDoesPorts ? { ...filters, ports: [], sports: [], dports: [] } : filters;
}
