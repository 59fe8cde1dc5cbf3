/**
 * Derived views over one Facts value, computed once and shared by every rule: the sockets in
 * scope, the start table by socket identity, listeners with their children, parsed sysctls.
 * Pure; a rule that needs a view nobody else needs computes it itself.
 */
import { summarizeListeners } from '../analysis/listeners.js';
import type { ListenerSummary } from '../analysis/listeners.js';
import type { Owner } from '../model/process.js';
import type { TcpSocket } from '../model/socket.js';
import { formatEndpoint } from '../model/socket.js';
import { compileConnFilter } from '../model/conn-filter.js';
import type { ConnFilter } from '../model/conn-filter.js';
import type { Facts, ProcessFact } from '../model/facts.js';

const WILDCARDS = new Set(['0.0.0.0', '::']);

/** A socket's identity across two snapshots: the kernel cookie, else its 4-tuple. */
export function socketKey(s: TcpSocket): string {
  return s.cookie ?? `${s.family}|${s.local.address}|${s.local.port}|${s.remote.address}|${s.remote.port}`;
}

export function ownerOf(s: TcpSocket): Owner | null {
  return s.pid === null ? null : { pid: s.pid, process: s.process ?? '?' };
}

export function localText(s: TcpSocket): string {
  return formatEndpoint(s.local, s.family);
}

export function remoteText(s: TcpSocket): string {
  return formatEndpoint(s.remote, s.family);
}

export function listenerText(l: ListenerSummary): string {
  return formatEndpoint(l.local, l.family);
}

/** Whether a filter narrows anything. */
export function isScoped(f: ConnFilter): boolean {
  return (f.expr !== undefined && !(f.expr.kind === 'and' && f.expr.items.length === 0)) || (f.pids?.length ?? 0) > 0 || f.process !== undefined || (f.families?.length ?? 0) > 0;
}

/** Loopback peers never cross a NAT, a load balancer or a WAN link. */
export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.');
}

export class FactsView {
  private cache = new Map<string, unknown>();

  constructor(readonly facts: Facts) {}

  /** A derived value shared by several rules (computed once per Facts). */
  derive<T>(key: string, build: (view: FactsView) => T): T {
    return this.memo(`derived:${key}`, () => build(this));
  }

  private memo<T>(key: string, build: () => T): T {
    if (this.cache.has(key)) return this.cache.get(key) as T;
    const value = build();
    this.cache.set(key, value);
    return value;
  }

  get windowMs(): number {
    return Math.max(1, this.facts.window.endMs - this.facts.window.startMs);
  }

  private matcher: ((s: TcpSocket) => boolean) | undefined;
  private endpointMatcher: ((s: TcpSocket) => boolean) | undefined;

  /** In scope: matches the filter (its endpoint conditions and its owners). */
  inScope(s: TcpSocket): boolean {
    this.matcher ??= compileConnFilter(this.facts.scope);
    return this.matcher(s);
  }

  /** The filter's endpoint conditions only (the start table has no owners; listeners' remote end is the wildcard). */
  private endpointsInScope(s: TcpSocket): boolean {
    this.endpointMatcher ??= compileConnFilter({ ...(this.facts.scope.families ? { families: this.facts.scope.families } : {}), ...(this.facts.scope.expr ? { expr: this.facts.scope.expr } : {}) });
    return this.endpointMatcher(s);
  }

  get scoped(): boolean {
    return isScoped(this.facts.scope);
  }

  /** The end-of-window table, in scope. */
  get end(): readonly TcpSocket[] {
    return this.memo('end', () => {
      const all = this.facts.sockets?.end ?? [];
      // Unscoped, the table is its own view: no copy of 60,000 references to make.
      return this.scoped || this.facts.scope.states !== undefined ? all.filter((s) => this.inScope(s)) : all;
    });
  }

  /** The start-of-window table, in scope by endpoints (owners are read at the end only). */
  get start(): readonly TcpSocket[] {
    return this.memo('start', () => {
      const all = this.facts.sockets?.start ?? [];
      return this.scoped ? all.filter((s) => this.endpointsInScope(s)) : all;
    });
  }

  private startByKeyCache: Map<string, TcpSocket> | undefined;

  /** The same socket at the start of the window, when it existed then. */
  atStart(s: TcpSocket): TcpSocket | undefined {
    if (this.startByKeyCache === undefined) {
      this.startByKeyCache = new Map();
      for (const x of this.facts.sockets?.start ?? []) this.startByKeyCache.set(socketKey(x), x);
    }
    return this.startByKeyCache.get(socketKey(s));
  }

  /** True when the socket was already in this state when the window began. */
  heldThroughWindow(s: TcpSocket): boolean {
    return this.atStart(s)?.state === s.state;
  }

  private byStateCache: Map<TcpSocket['state'], TcpSocket[]> | undefined;

  byState(state: TcpSocket['state']): readonly TcpSocket[] {
    if (this.byStateCache === undefined) {
      this.byStateCache = new Map();
      for (const s of this.end) {
        const list = this.byStateCache.get(s.state);
        if (list) list.push(s);
        else this.byStateCache.set(s.state, [s]);
      }
    }
    return this.byStateCache.get(state) ?? [];
  }

  /** Every listener at the end of the window with its accept queue and children (all, scope aside). */
  get listeners(): readonly ListenerSummary[] {
    return this.memo('listeners', () => summarizeListeners(this.facts.sockets?.end ?? [], this.hasBacklog));
  }

  /** Listeners at the start of the window, for their accept queue then (children are not counted). */
  get startListeners(): readonly ListenerSummary[] {
    return this.memo('startListeners', () => summarizeListeners((this.facts.sockets?.start ?? []).filter((s) => s.state === 'LISTEN'), this.hasBacklog));
  }

  /** procfs cannot tell a listener's backlog; sock_diag can (and gives cookies). */
  private get hasBacklog(): boolean {
    return (this.facts.sockets?.end ?? []).some((s) => s.cookie !== null);
  }

  /** A listener is in scope when the filter's local-side conditions hold for it (a remote-port condition cannot, on LISTEN) and its owner matches. */
  listenerInScope(l: ListenerSummary): boolean {
    const f = this.facts.scope;
    this.listenerMatcher ??= compileConnFilter({ ...(f.expr ? { expr: f.expr } : {}), ...(f.pids ? { pids: f.pids } : {}), ...(f.process !== undefined ? { process: f.process } : {}) });
    return this.listenerMatcher({ family: l.family, state: 'LISTEN', local: l.local, remote: { address: l.family === 6 ? '::' : '0.0.0.0', port: 0 }, owners: l.owners });
  }

  private listenerMatcher: ReturnType<typeof compileConnFilter> | undefined;

  private listenersByPort: Map<number, ListenerSummary[]> | undefined;

  /** The listener a passive socket belongs to: its exact address first, then a wildcard. */
  listenerOf(s: TcpSocket): ListenerSummary | null {
    if (this.listenersByPort === undefined) {
      this.listenersByPort = new Map();
      for (const l of this.listeners) {
        const key = l.family * 65536 + l.local.port;
        const list = this.listenersByPort.get(key);
        if (list) list.push(l);
        else this.listenersByPort.set(key, [l]);
      }
    }
    const candidates = this.listenersByPort.get(s.family * 65536 + s.local.port);
    if (candidates === undefined) return null;
    return candidates.find((l) => l.local.address === s.local.address) ?? candidates.find((l) => WILDCARDS.has(l.local.address)) ?? null;
  }

  /** The socket on this host at the other end of `s` (loopback and namespace-local peers). */
  peerOf(s: TcpSocket): TcpSocket | undefined {
    const byTuple = this.memo('byTuple', () => {
      const map = new Map<string, TcpSocket>();
      for (const x of this.facts.sockets?.end ?? []) map.set(`${x.local.address}|${x.local.port}|${x.remote.address}|${x.remote.port}`, x);
      return map;
    });
    return byTuple.get(`${s.remote.address}|${s.remote.port}|${s.local.address}|${s.local.port}`);
  }

  /** A sysctl as a number (the `index`-th of a multi-value one); null when absent. */
  sysctlNumber(name: string, index = 0): number | null {
    const text = this.facts.sysctl?.[name];
    if (text === undefined || text === null) return null;
    const value = Number(text.trim().split(/\s+/)[index]);
    return Number.isFinite(value) ? value : null;
  }

  sysctlText(name: string): string | null {
    return this.facts.sysctl?.[name] ?? null;
  }

  /** net.ipv4.ip_local_port_range: the ports connect() picks from (both ends inclusive). */
  get portRange(): { readonly low: number; readonly high: number; readonly size: number } | null {
    return this.memo('portRange', () => this.readPortRange());
  }

  private readPortRange(): { readonly low: number; readonly high: number; readonly size: number } | null {
    const low = this.sysctlNumber('net.ipv4.ip_local_port_range', 0);
    const high = this.sysctlNumber('net.ipv4.ip_local_port_range', 1);
    if (low === null || high === null || high < low) return null;
    return { low, high, size: high - low + 1 };
  }

  private rangeCache: { readonly low: number; readonly high: number } | null | undefined;

  isEphemeral(port: number): boolean {
    if (this.rangeCache === undefined) this.rangeCache = this.portRange;
    const range = this.rangeCache;
    return range !== null && port >= range.low && port <= range.high;
  }

  /** A counter's growth over the window (0 when the kernel has no such counter). */
  delta(name: string): number {
    return this.facts.counters?.deltas[name] ?? 0;
  }

  gauge(name: string): number | null {
    return this.facts.counters?.gauges[name] ?? null;
  }

  process(pid: number): ProcessFact | undefined {
    return this.memo('processes', () => new Map((this.facts.processes ?? []).map((p) => [p.pid, p]))).get(pid);
  }
}

/** Count items by a key; returns entries sorted by count, largest first. */
export function countBy<T>(items: Iterable<T>, key: (item: T) => string): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const item of items) {
    const k = key(item);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

/** Sum a weight per key; entries sorted by sum, largest first. */
export function sumBy<T>(items: Iterable<T>, key: (item: T) => string, weight: (item: T) => number): Array<[string, number]> {
  const sums = new Map<string, number>();
  for (const item of items) {
    const k = key(item);
    sums.set(k, (sums.get(k) ?? 0) + weight(item));
  }
  return [...sums].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

/** Group items by a key, keeping insertion order of first appearance. */
export function groupBy<T>(items: Iterable<T>, key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/** The top `n` of counted entries as `{ key: count }` objects for evidence. */
export function top(entries: ReadonlyArray<[string, number]>, n: number, name: string): Array<Record<string, string | number>> {
  return entries.slice(0, n).map(([key, count]) => ({ [name]: key, count }));
}

/**
 * The largest of `items` by `value` (`empty` for none). Not Math.max(...list): spreading a list
 * into arguments overflows V8's stack past ~120,000 items (measured: 130,000 throws
 * "Maximum call stack size exceeded"), and a host in trouble has more TIME_WAIT sockets than that.
 */
export function maxOf<T>(items: readonly T[], value: (item: T) => number, empty = -Infinity): number {
  let max = items.length === 0 ? empty : -Infinity;
  for (const item of items) {
    const v = value(item);
    if (v > max) max = v;
  }
  return max;
}

/** The smallest of `items` by `value` (`empty` for none); see maxOf. */
export function minOf<T>(items: readonly T[], value: (item: T) => number, empty = Infinity): number {
  let min = items.length === 0 ? empty : Infinity;
  for (const item of items) {
    const v = value(item);
    if (v < min) min = v;
  }
  return min;
}

export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function percent(part: number, whole: number): number {
  return whole <= 0 ? 0 : round((100 * part) / whole, 2);
}

/** Owners as evidence: `{pid, process}`, distinct, largest holders first. */
export function ownersEvidence(sockets: readonly TcpSocket[]): Array<{ pid: number; process: string; sockets: number }> {
  const byPid = new Map<number, { pid: number; process: string; sockets: number }>();
  for (const s of sockets) {
    for (const o of s.owners) {
      const entry = byPid.get(o.pid) ?? { pid: o.pid, process: o.process, sockets: 0 };
      entry.sockets++;
      byPid.set(o.pid, entry);
    }
  }
  return [...byPid.values()].sort((a, b) => b.sockets - a.sockets || a.pid - b.pid);
}
