/**
 * The ConnFilter of `tcpdiag trace`, split between the kernel and user space. The kernel
 * (tracefs event filters, Documentation/trace/events.rst section 5; the same text becomes
 * bpftrace predicates) takes the port conditions and the family, on the tracepoints that
 * have those fields. User space takes the rest:
 * - address blocks: the filter language has no CIDR match on the byte-array address fields;
 * - states: the tracker rebuilds connects, accepts and closes from every transition of a
 *   socket, so transitions are never dropped in the kernel for a state condition;
 * - owners (--pid, --process): passive opens run in softirq, where common_pid is not the owner;
 * - everything, for tcp_send_reset, whose endpoints are sockaddr bytes rather than fields,
 *   and for kfree_skb, whose endpoints are in the packet (read by the eBPF program).
 * An event matches a state condition when its socket was in, or entered, one of the states.
 */
import type { ConnExpr, ConnFilter, ConnLeaf, EndpointMatcher } from '../../model/conn-filter.js';
import { compileConnFilter, compileExpr, conjuncts, hasOwnerFilter, ownersMatch, splitExpr } from '../../model/conn-filter.js';
import type { TcpState } from '../../model/tcp-state.js';
import type { Endpoint } from '../../model/socket.js';
import type { TracepointName } from '../../model/kernel-event.js';
import type { TraceEvent, TraceMode } from './events.js';

/** Which tracepoints each mode needs (kernel/trace cost is per enabled event). */
export const MODE_TRACEPOINTS: Record<TraceMode, readonly TracepointName[]> = {
  // SYN retransmissions and RSTs tell a timeout from a refusal.
  connect: ['inet_sock_set_state', 'tcp_retransmit_skb', 'tcp_receive_reset'],
  accept: ['inet_sock_set_state'],
  states: ['inet_sock_set_state'],
  retrans: ['tcp_retransmit_skb', 'tcp_retransmit_synack'],
  resets: ['tcp_send_reset', 'tcp_receive_reset'],
  life: ['inet_sock_set_state'],
  drops: ['kfree_skb'],
  all: ['inet_sock_set_state', 'tcp_retransmit_skb', 'tcp_retransmit_synack', 'tcp_send_reset', 'tcp_receive_reset'],
};

/** Tracepoints whose format has sport, dport and family fields (tcp_send_reset has sockaddr bytes instead). */
const HAS_PORT_FIELDS: ReadonlySet<TracepointName> = new Set(['inet_sock_set_state', 'tcp_retransmit_skb', 'tcp_retransmit_synack', 'tcp_receive_reset']);

/** A leaf a tracefs filter can test: ports, not addresses. */
const portLeaf = (leaf: ConnLeaf): boolean => leaf.kind === 'port' || leaf.cidr === null;

const FIELD = { src: 'sport', dst: 'dport' } as const;
const OPS = { eq: '==', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=' } as const;
/** Address family numbers of the `family` field (include/linux/socket.h). */
const AF = { 4: 2, 6: 10 } as const;
/** tracefs has no literal for false. */
const NEVER = '(sport == 0 && sport != 0)';

/** An expression of port leaves as tracefs filter text; null when it is always true. */
function tracefsText(expr: ConnExpr): string | null {
  switch (expr.kind) {
    case 'host':
      // Ports are validated integers (the flag and expression parsers), never text from the user.
      return expr.port === null ? null : `${FIELD[expr.side]} == ${expr.port}`;
    case 'port':
      return `${FIELD[expr.side]} ${OPS[expr.op]} ${expr.port}`;
    case 'not': {
      const inner = tracefsText(expr.item);
      return inner === null ? NEVER : wrapped(inner) ? `!${inner}` : `!(${inner})`;
    }
    case 'and':
      return allOf(expr.items.map(tracefsText));
    case 'or': {
      if (expr.items.length === 0) return NEVER;
      const items = expr.items.map(tracefsText);
      return items.includes(null) ? null : anyOfText(items as string[]);
    }
  }
}

/** Is the whole text one parenthesised group? */
function wrapped(text: string): boolean {
  if (!text.startsWith('(')) return false;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0) return i === text.length - 1;
  }
  return false;
}

function anyOfText(clauses: readonly string[]): string | null {
  if (clauses.length === 0) return null;
  return clauses.length === 1 ? clauses[0]! : `(${clauses.join(' || ')})`;
}

function allOf(clauses: ReadonlyArray<string | null>): string | null {
  const present = clauses.filter((c): c is string => c !== null);
  if (present.length === 0) return null;
  const atomic = (c: string): boolean => !c.includes('||') || wrapped(c) || (c.startsWith('!') && wrapped(c.slice(1)));
  return present.map((c) => (present.length > 1 && !atomic(c) ? `(${c})` : c)).join(' && ');
}

/** Does the kernel apply the endpoint conditions for every tracepoint of this mode? */
const kernelTakesPorts = (mode: TraceMode): boolean => MODE_TRACEPOINTS[mode].every((t) => HAS_PORT_FIELDS.has(t));

function familyClause(filter: ConnFilter): string | null {
  const families = filter.families ?? [];
  return families.length === 1 ? `family == ${AF[families[0]!]}` : null;
}

/**
 * The kernel filter for one tracepoint in one mode, or null for none. States are kernel
 * numbers (include/net/tcp_states.h): 1 ESTABLISHED, 2 SYN_SENT, 3 SYN_RECV, 7 CLOSE, 10 LISTEN.
 */
export function kernelFilter(tracepoint: TracepointName, mode: TraceMode, filter: ConnFilter): string | null {
  if (!HAS_PORT_FIELDS.has(tracepoint)) return null; // tcp_send_reset, kfree_skb: filtered in user space
  const ports = tracefsText(splitExpr(filter.expr, portLeaf).kernel ?? { kind: 'and', items: [] });
  const endpoints = allOf([familyClause(filter), ports]);
  switch (tracepoint) {
    case 'inet_sock_set_state': {
      let states: string | null = null;
      // connect: the start of an active open and where it ends; accept: a listener's child, its
      // end, and listeners being created (to learn their owners).
      if (mode === 'connect') states = '((oldstate == 7 && newstate == 2) || oldstate == 2)';
      if (mode === 'accept') states = '((oldstate == 10 && newstate == 3) || oldstate == 3 || newstate == 10)';
      return allOf(['protocol == 6', states, endpoints]);
    }
    case 'tcp_retransmit_skb':
      return allOf([mode === 'connect' ? 'state == 2' : null, endpoints]);
    default:
      return endpoints;
  }
}

/**
 * What is left for user space once the kernel has filtered: the endpoint conditions the
 * kernel did not settle (address blocks; all of them when a tracepoint of the mode has no
 * port fields), the family likewise, states and owners always. At 10^5 events a second,
 * checking again what the kernel already checked is a cost worth skipping.
 */
export function userSpaceFilter(mode: TraceMode, filter: ConnFilter): ConnFilter {
  const all = !kernelTakesPorts(mode);
  const user = all ? (filter.expr ?? null) : splitExpr(filter.expr, portLeaf).user;
  return {
    ...(filter.states === undefined ? {} : { states: filter.states }),
    ...(filter.families !== undefined && (all || filter.families.length !== 1) ? { families: filter.families } : {}),
    ...(user === null ? {} : { expr: user }),
    ...(filter.pids === undefined ? {} : { pids: filter.pids }),
    ...(filter.process === undefined ? {} : { process: filter.process }),
  };
}

export function hasUserFilter(filter: ConnFilter): boolean {
  return (filter.states?.length ?? 0) > 0 || (filter.families?.length ?? 0) > 0 || filter.expr !== undefined || hasOwnerFilter(filter);
}

/** The states an event's socket was in or entered. */
function eventStates(event: TraceEvent): readonly TcpState[] {
  switch (event.type) {
    case 'state': return [event.oldState, event.newState];
    case 'connect': return ['SYN_SENT', 'ESTABLISHED'];
    case 'connect-failed': return ['SYN_SENT', 'CLOSE'];
    case 'accept': return ['SYN_RECV', 'ESTABLISHED'];
    case 'close': return ['CLOSE'];
    case 'retransmit': return event.kind === 'synack' ? ['SYN_RECV'] : event.state === null ? [] : [event.state];
    case 'reset': return event.state === null ? [] : [event.state];
    case 'drop': return event.state === null ? [] : [event.state];
    case 'lost': return [];
  }
}

/** A filter as a predicate over trace events, built once; lost events and events without endpoints always pass. */
export function compileEventFilter(filter: ConnFilter): (event: TraceEvent) => boolean {
  const states = filter.states !== undefined && filter.states.length > 0 ? new Set(filter.states) : null;
  const families = filter.families !== undefined && filter.families.length > 0 ? filter.families : null;
  const expr: EndpointMatcher | null = filter.expr === undefined ? null : compileExpr(filter.expr);
  const owners = hasOwnerFilter(filter);
  return (event) => {
    if (event.type === 'lost' || event.local === null || event.remote === null) return true;
    if (families !== null && event.family !== null && !families.includes(event.family)) return false;
    if (states !== null && !eventStates(event).some((s) => states.has(s))) return false;
    if (expr !== null && !expr(event.local, event.remote)) return false;
    if (owners && !ownersMatch(filter, event.pid === null ? [] : [{ pid: event.pid, process: event.process ?? '' }])) return false;
    return true;
  };
}

/** The same filter on the socket table (states --stats), without owners (the table's are not read). */
export function compileTableFilter(filter: ConnFilter): (sock: { readonly family: 4 | 6; readonly state: TcpState; readonly local: Endpoint; readonly remote: Endpoint }) => boolean {
  const { pids: _pids, process: _process, ...withoutOwners } = filter;
  const match = compileConnFilter(withoutOwners);
  return (sock) => match({ ...sock, owners: [] });
}

/** A port the filter selects, for made-up warm-up events (8080 when it names none). */
export function samplePort(filter: ConnFilter): number {
  for (const c of conjuncts(filter.expr)) {
    const leaf = c.kind === 'or' ? c.items[0] : c;
    if (leaf?.kind === 'port' && leaf.op === 'eq') return leaf.port;
    if (leaf?.kind === 'host' && leaf.port !== null) return leaf.port;
  }
  return 8080;
}
