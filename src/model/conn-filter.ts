/**
 * ConnFilter: the one filter over TCP connections, for sockets (conns, listeners), kernel
 * events (trace) and packets (capture). It says WHAT to keep; each backend decides HOW, by
 * splitting it into the part its kernel interface applies (sock_diag state masks and
 * bytecode, tracefs event filters, a BPF capture filter) and the part left to user space
 * (`splitExpr`). Its endpoint conditions are ss's filter expression (ss(8), FILTER): the
 * same operators, the same meaning, so `tcpdiag conns EXPR` and `ss -tan EXPR` agree.
 *
 * Sides: `src` is a socket's local end and `dst` its remote end, as in ss; for a packet they
 * are its sender and its receiver, as in tcpdump.
 */
import type { Cidr } from './address.js';
import { cidrContains, formatIpv4, formatIpv6 } from './address.js';
import type { AddressFamily, Endpoint, SocketOwner } from './socket.js';
import type { TcpState } from './tcp-state.js';

export type ConnSide = 'src' | 'dst';
export type PortOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

/** ss's host condition: the address inside `cidr` (any address when null) and, when given, this port. */
export interface HostCond {
  readonly kind: 'host';
  readonly side: ConnSide;
  readonly cidr: Cidr | null;
  readonly port: number | null;
}

/** A port compared with a number. */
export interface PortCond {
  readonly kind: 'port';
  readonly side: ConnSide;
  readonly op: PortOp;
  readonly port: number;
}

export type ConnLeaf = HostCond | PortCond;

export type ConnExpr =
  | ConnLeaf
  /** Every item holds; no items: always true. */
  | { readonly kind: 'and'; readonly items: readonly ConnExpr[] }
  /** At least one item holds; no items: always false. */
  | { readonly kind: 'or'; readonly items: readonly ConnExpr[] }
  | { readonly kind: 'not'; readonly item: ConnExpr };

export interface ConnFilter {
  /** Only these states; absent: every state. */
  readonly states?: readonly TcpState[];
  /** Only these address families; absent: both. */
  readonly families?: readonly AddressFamily[];
  /** Conditions on the endpoints: ss's expression and the port and address flags, all of which must hold. */
  readonly expr?: ConnExpr;
  /** Owned by one of these processes (user space only: no kernel interface knows the owner). */
  readonly pids?: readonly number[];
  /** Owned by a process whose name contains this text (user space only). */
  readonly process?: string;
}

export const TRUE_EXPR: ConnExpr = { kind: 'and', items: [] };

export const isTrue = (e: ConnExpr): boolean => e.kind === 'and' && e.items.length === 0;

/** All of `items`, flattened; a single item stands alone. */
export function allOf(items: readonly ConnExpr[]): ConnExpr {
  const flat = items.flatMap((i) => (i.kind === 'and' ? i.items : [i]));
  return flat.length === 1 ? flat[0]! : { kind: 'and', items: flat };
}

/** Any of `items`, flattened; a single item stands alone. */
export function anyOf(items: readonly ConnExpr[]): ConnExpr {
  const flat = items.flatMap((i) => (i.kind === 'or' ? i.items : [i]));
  return flat.length === 1 ? flat[0]! : { kind: 'or', items: flat };
}

/** Either end uses this port (the --port flag). */
export function eitherPort(port: number): ConnExpr {
  return anyOf([{ kind: 'port', side: 'src', op: 'eq', port }, { kind: 'port', side: 'dst', op: 'eq', port }]);
}

/** Either end's address is inside this block (the --addr flag). */
export function eitherAddress(cidr: Cidr): ConnExpr {
  return anyOf([{ kind: 'host', side: 'src', cidr, port: null }, { kind: 'host', side: 'dst', cidr, port: null }]);
}

/** The top-level conjuncts of an expression (an `and` is its items; anything else is one). */
export function conjuncts(expr: ConnExpr | undefined): readonly ConnExpr[] {
  if (expr === undefined) return [];
  return expr.kind === 'and' ? expr.items : [expr];
}

// ---------------------------------------------------------------------------------------------
// Evaluation in user space

export type EndpointMatcher = (local: Endpoint, remote: Endpoint) => boolean;

function comparePort(op: PortOp, value: number, port: number): boolean {
  switch (op) {
    case 'eq': return value === port;
    case 'ne': return value !== port;
    case 'lt': return value < port;
    case 'le': return value <= port;
    case 'gt': return value > port;
    case 'ge': return value >= port;
  }
}

/**
 * The expression as a function of the two ends, built once and run per socket or event.
 * Address blocks match as the kernel's inet_diag_bc_run() does (net/ipv4/inet_diag.c): an
 * IPv4 block also matches IPv4-mapped IPv6 addresses; an IPv6 block never matches IPv4.
 */
export function compileExpr(expr: ConnExpr): EndpointMatcher {
  switch (expr.kind) {
    case 'host': {
      const { side, cidr, port } = expr;
      return (local, remote) => {
        const end = side === 'src' ? local : remote;
        if (port !== null && end.port !== port) return false;
        return cidr === null || cidrContains(cidr, end.address);
      };
    }
    case 'port': {
      const { side, op, port } = expr;
      return side === 'src' ? (local) => comparePort(op, local.port, port) : (_local, remote) => comparePort(op, remote.port, port);
    }
    case 'and': {
      const items = expr.items.map(compileExpr);
      return (l, r) => items.every((m) => m(l, r));
    }
    case 'or': {
      const items = expr.items.map(compileExpr);
      return (l, r) => items.some((m) => m(l, r));
    }
    case 'not': {
      const item = compileExpr(expr.item);
      return (l, r) => !item(l, r);
    }
  }
}

/** What a socket-like thing offers to a filter. */
export interface ConnSubject {
  readonly family: AddressFamily;
  readonly state: TcpState;
  readonly local: Endpoint;
  readonly remote: Endpoint;
  readonly owners: readonly Pick<SocketOwner, 'pid' | 'process'>[];
}

export function ownersMatch(filter: ConnFilter, owners: readonly Pick<SocketOwner, 'pid' | 'process'>[]): boolean {
  const { pids, process } = filter;
  if (pids !== undefined && pids.length > 0 && !owners.some((o) => pids.includes(o.pid))) return false;
  if (process !== undefined && !owners.some((o) => o.process.includes(process))) return false;
  return true;
}

export function hasOwnerFilter(filter: ConnFilter): boolean {
  return (filter.pids !== undefined && filter.pids.length > 0) || filter.process !== undefined;
}

/** The whole filter as one predicate over sockets, built once. */
export function compileConnFilter(filter: ConnFilter): (s: ConnSubject) => boolean {
  const states = filter.states !== undefined && filter.states.length > 0 ? new Set(filter.states) : null;
  const families = filter.families !== undefined && filter.families.length > 0 ? filter.families : null;
  const expr = filter.expr === undefined || isTrue(filter.expr) ? null : compileExpr(filter.expr);
  const owners = hasOwnerFilter(filter);
  return (s) =>
    (states === null || states.has(s.state)) &&
    (families === null || families.includes(s.family)) &&
    (expr === null || expr(s.local, s.remote)) &&
    (!owners || ownersMatch(filter, s.owners));
}

// ---------------------------------------------------------------------------------------------
// Splitting between the kernel and user space

export interface ExprSplit {
  /** What the kernel is given: implied by the expression (it keeps a superset); null when it can take nothing. */
  readonly kernel: ConnExpr | null;
  /** What user space must still check: the top-level conjuncts the kernel did not take exactly; null when none. */
  readonly user: ConnExpr | null;
}

interface Relaxed {
  /** null: no condition (true). */
  readonly expr: ConnExpr | null;
  readonly exact: boolean;
}

function relax(expr: ConnExpr, canApply: (leaf: ConnLeaf) => boolean): Relaxed {
  switch (expr.kind) {
    case 'host':
    case 'port':
      return canApply(expr) ? { expr, exact: true } : { expr: null, exact: false };
    case 'and': {
      const parts = expr.items.map((i) => relax(i, canApply));
      const kept = parts.flatMap((p) => (p.expr === null ? [] : [p.expr]));
      return { expr: kept.length === 0 ? null : allOf(kept), exact: parts.every((p) => p.exact) };
    }
    case 'or': {
      const parts = expr.items.map((i) => relax(i, canApply));
      // One side the kernel cannot check may be true: then the whole `or` may be (and is, when
      // that side is exactly true).
      if (parts.some((p) => p.expr === null)) return { expr: null, exact: parts.some((p) => p.expr === null && p.exact) };
      return { expr: anyOf(parts.map((p) => p.expr!)), exact: parts.every((p) => p.exact) };
    }
    case 'not': {
      const inner = relax(expr.item, canApply);
      // Only an exact condition can be negated: not(superset) is a subset.
      return inner.exact ? { expr: inner.expr === null ? { kind: 'or', items: [] } : { kind: 'not', item: inner.expr }, exact: true } : { expr: null, exact: false };
    }
  }
}

/**
 * Split an expression for a backend whose kernel interface can test the leaves `canApply`
 * accepts: the kernel gets the strongest condition it can test that the expression implies,
 * user space the conjuncts that condition does not settle. Checking again what the kernel
 * settled costs per socket or per event (10^5 a second in a trace), so it is not done.
 */
export function splitExpr(expr: ConnExpr | undefined, canApply: (leaf: ConnLeaf) => boolean): ExprSplit {
  if (expr === undefined || isTrue(expr)) return { kernel: null, user: null };
  const kernel: ConnExpr[] = [];
  const user: ConnExpr[] = [];
  for (const c of conjuncts(expr)) {
    const r = relax(c, canApply);
    if (r.expr !== null) kernel.push(r.expr);
    if (!r.exact) user.push(c);
  }
  return { kernel: kernel.length === 0 ? null : allOf(kernel), user: user.length === 0 ? null : allOf(user) };
}

// ---------------------------------------------------------------------------------------------
// Text (ss syntax): for notes, errors and tests that parse what they print

function formatCidr(c: Cidr): string {
  const address = c.family === 4 ? formatIpv4(c.bytes) : formatIpv6(c.bytes);
  return c.prefix === (c.family === 4 ? 32 : 128) ? address : `${address}/${c.prefix}`;
}

function formatHost(h: HostCond): string {
  const port = h.port === null ? '' : `:${h.port}`;
  if (h.cidr === null) return h.port === null ? '*' : `*${port}`;
  const text = formatCidr(h.cidr);
  // An IPv6 address without a prefix needs brackets to tell it from a port (ss reads the last colon).
  if (h.cidr.family === 6 && !text.includes('/')) return `[${text}]${port}`;
  return `${text}${port}`;
}

const OP_TEXT: Record<PortOp, string> = { eq: '=', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=' };

/** ss's expression syntax, fully parenthesised where needed (ss gives `and` and `or` the same precedence). */
export function formatExpr(expr: ConnExpr): string {
  switch (expr.kind) {
    case 'host':
      return `${expr.side} ${formatHost(expr)}`;
    case 'port':
      return `${expr.side === 'src' ? 'sport' : 'dport'} ${OP_TEXT[expr.op]} :${expr.port}`;
    case 'not':
      return `! ${wrap(expr.item)}`;
    case 'and':
    case 'or':
      if (expr.items.length === 0) return expr.kind === 'and' ? 'src *' : '! src *';
      return expr.items.map(wrap).join(` ${expr.kind} `);
  }
}

function wrap(e: ConnExpr): string {
  return (e.kind === 'and' || e.kind === 'or') && e.items.length > 1 ? `( ${formatExpr(e)} )` : formatExpr(e);
}
