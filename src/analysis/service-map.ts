/**
 * Builds the service map (model/service-map.ts) from the socket table with owners, the
 * listener table and the kernel's abnormal events over a window. Pure: data in, map out.
 *
 * A socket or event is inbound when its local end belongs to a listener (listener-of.ts: the
 * same address and port, else the wildcard on that port), outbound otherwise. Inbound peers
 * are grouped by address (clients come from ephemeral ports), outbound ones by address and
 * port (the service called). A busy host has thousands of peers: each direction keeps its top
 * K by connections plus events, and sums the rest into one `other` node, so the picture stays
 * readable and the totals stay exact.
 *
 * The agent's events carry no owner (the event collector does not walk /proc per event): an
 * outbound event takes the owner of the open socket with the same ends, else it goes to the
 * "unknown process" node (a refused connect's socket is gone before any table read sees it).
 * A reset sent from a local end that no listener and no socket holds is the kernel answering
 * a SYN to a closed port (tcp_v4_send_reset with no socket, net/ipv4/tcp_ipv4.c): that peer
 * gets an edge to a "closed port" node.
 */
import type { AgentEvent } from '../model/agent-event.js';
import type { ListenerSummary } from '../model/listener.js';
import type { AddressFamily, Endpoint, TcpSocket } from '../model/socket.js';
import { formatEndpoint } from '../model/socket.js';
import type { MapCounts, MapDirection, MapEdge, MapNode, ServiceMap } from '../model/service-map.js';
import { addCounts, problemCount, zeroCounts } from '../model/service-map.js';
import { listenerIndex } from './events/listener-of.js';

export interface ServiceMapInput {
  readonly fromMs: number;
  readonly toMs: number;
  readonly takenAtMs: number;
  readonly sockets: readonly TcpSocket[];
  readonly listeners: readonly ListenerSummary[];
  /** The window's abnormal events (connect-failed, reset, retransmit; others are ignored). */
  readonly events: readonly AgentEvent[];
  /** Peers kept per direction before the rest become `other`. */
  readonly topPeers: number;
  readonly eventStatus: ServiceMap['events'];
}

export const UNKNOWN_PROCESS = 'process:?';
export const OTHER_INBOUND = 'peer:in:other';
export const OTHER_OUTBOUND = 'peer:out:other';

interface Owner {
  readonly pid: number | null;
  readonly name: string;
}

function ownerOf(s: { readonly pid: number | null; readonly process: string | null }): Owner | null {
  return s.pid === null ? null : { pid: s.pid, name: s.process ?? '' };
}

const processId = (o: Owner | null): string => (o === null ? UNKNOWN_PROCESS : `process:${o.pid}`);
const connKey = (family: AddressFamily, local: Endpoint, remote: Endpoint): string => `${formatEndpoint(local, family)}>${formatEndpoint(remote, family)}`;
const peerAddress = (family: AddressFamily, address: string): string => (family === 6 ? `[${address}]` : address);

/** Sockets that are connections in the map's sense (see MapCounts). */
function isOpenConnection(s: TcpSocket): boolean {
  return s.state !== 'LISTEN' && s.state !== 'TIME_WAIT' && s.state !== 'CLOSE';
}

class Counter<K extends string> {
  readonly map = new Map<K, MapCounts>();
  at(key: K): MapCounts {
    let c = this.map.get(key);
    if (c === undefined) {
      c = zeroCounts();
      this.map.set(key, c);
    }
    return c;
  }
}

function addEvent(c: MapCounts, e: AgentEvent): void {
  if (e.kind === 'connect-failed') c.failedConnects++;
  else if (e.kind === 'reset' && e.direction === 'sent') c.resetsSent++;
  else if (e.kind === 'reset') c.resetsReceived++;
  else if (e.kind === 'retransmit') c.retransmits++;
}

export function buildServiceMap(input: ServiceMapInput): ServiceMap {
  const listenerOf = listenerIndex(input.listeners);
  // The agent's periodic listener dump has no owners (it costs a /proc walk): the table's LISTEN sockets do.
  const listenSockets = new Map<string, Owner | null>();
  for (const s of input.sockets) if (s.state === 'LISTEN') listenSockets.set(formatEndpoint(s.local, s.family), ownerOf(s));
  const listenerOwner = new Map<string, Owner | null>();
  for (const l of input.listeners) {
    const key = formatEndpoint(l.local, l.family);
    listenerOwner.set(key, ownerOf(l) ?? listenSockets.get(key) ?? null);
  }
  const processes = new Map<string, Owner | null>();
  // Inbound pairs: "peerAddress|listenerKey"; outbound: "processId|peer:port".
  const inbound = new Counter<string>();
  const outbound = new Counter<string>();
  const closedPorts = new Set<string>();
  const owners = new Map<string, Owner | null>();
  const localEnds = new Set<string>();

  for (const s of input.sockets) {
    if (s.state === 'LISTEN') continue;
    localEnds.add(formatEndpoint(s.local, s.family));
    if (!isOpenConnection(s)) continue;
    const listener = listenerOf(s.family, s.local);
    if (listener !== null) {
      inbound.at(`${peerAddress(s.family, s.remote.address)}|${listener}`).connections++;
    } else {
      const owner = ownerOf(s);
      owners.set(connKey(s.family, s.local, s.remote), owner);
      processes.set(processId(owner), owner);
      outbound.at(`${processId(owner)}|${formatEndpoint(s.remote, s.family)}`).connections++;
    }
  }
  for (const e of input.events) {
    if (e.ts < input.fromMs || e.ts > input.toMs) continue;
    if (e.kind !== 'connect-failed' && e.kind !== 'reset' && e.kind !== 'retransmit') continue;
    const listener = listenerOf(e.family, e.local);
    const local = formatEndpoint(e.local, e.family);
    if (listener !== null) {
      addEvent(inbound.at(`${peerAddress(e.family, e.remote.address)}|${listener}`), e);
    } else if (e.kind === 'reset' && e.direction === 'sent' && !localEnds.has(local) && !owners.has(connKey(e.family, e.local, e.remote))) {
      const closed = `closed:${local}`;
      closedPorts.add(closed);
      addEvent(inbound.at(`${peerAddress(e.family, e.remote.address)}|${closed}`), e);
    } else {
      const owner = owners.get(connKey(e.family, e.local, e.remote)) ?? null;
      processes.set(processId(owner), owner);
      addEvent(outbound.at(`${processId(owner)}|${formatEndpoint(e.remote, e.family)}`), e);
    }
  }
  return assemble(input, { inbound, outbound, processes, listenerOwner, closedPorts });
}

interface Tallies {
  readonly inbound: Counter<string>;
  readonly outbound: Counter<string>;
  readonly processes: Map<string, Owner | null>;
  readonly listenerOwner: ReadonlyMap<string, Owner | null>;
  readonly closedPorts: ReadonlySet<string>;
}

/** The top K keys by connections plus events (ties by key, so a refresh does not reshuffle). */
function topKeys(totals: ReadonlyMap<string, MapCounts>, k: number): Set<string> {
  const ranked = [...totals.entries()].sort((a, b) => score(b[1]) - score(a[1]) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return new Set(ranked.slice(0, k).map(([key]) => key));
}

function score(c: MapCounts): number {
  return c.connections + problemCount(c);
}

function assemble(input: ServiceMapInput, t: Tallies): ServiceMap {
  const nodes = new Map<string, MapNode & { counts: MapCounts }>();
  const edges = new Map<string, MapEdge & { counts: MapCounts }>();
  const node = (id: string, init: Omit<MapNode, 'id' | 'counts'>): MapCounts => {
    let n = nodes.get(id);
    if (n === undefined) {
      n = { id, ...init, counts: zeroCounts() };
      nodes.set(id, n);
    }
    return n.counts;
  };
  const edge = (from: string, to: string, direction: MapDirection, c: MapCounts): void => {
    const key = `${from}\u0000${to}`;
    let e = edges.get(key);
    if (e === undefined) {
      e = { from, to, direction, counts: zeroCounts() };
      edges.set(key, e);
    }
    addCounts(e.counts, c);
  };
  const processNode = (id: string): MapCounts => {
    const owner = t.processes.get(id) ?? null;
    return node(id, { kind: 'process', label: owner?.name ?? '', pid: owner?.pid ?? null, members: 1, special: owner === null ? 'unknown-process' : null, direction: null });
  };
  // Every listener is drawn with its process, also when nothing talks to it in the window.
  for (const [key, owner] of t.listenerOwner) {
    node(`listener:${key}`, { kind: 'listener', label: key, pid: owner?.pid ?? null, members: 1, special: null, direction: 'inbound' });
    const pid = processId(owner);
    t.processes.set(pid, owner);
    processNode(pid);
    edge(`listener:${key}`, pid, 'inbound', zeroCounts());
  }
  for (const closed of t.closedPorts) node(`listener:${closed}`, { kind: 'listener', label: closed.slice('closed:'.length), pid: null, members: 1, special: 'closed-port', direction: 'inbound' });

  const inPeers = new Map<string, MapCounts>();
  for (const [pair, c] of t.inbound.map) addCounts(countsAt(inPeers, pair.slice(0, pair.lastIndexOf('|'))), c);
  const outPeers = new Map<string, MapCounts>();
  for (const [pair, c] of t.outbound.map) addCounts(countsAt(outPeers, pair.slice(pair.indexOf('|') + 1)), c);
  const keepIn = topKeys(inPeers, input.topPeers);
  const keepOut = topKeys(outPeers, input.topPeers);
  let grouped = 0;
  for (const [peer, c] of inPeers) {
    const kept = keepIn.has(peer);
    if (!kept) grouped++;
    addCounts(node(kept ? `peer:in:${peer}` : OTHER_INBOUND, { kind: 'peer', label: kept ? peer : '', pid: null, members: 0, special: kept ? null : 'other-peers', direction: 'inbound' }), c);
  }
  for (const [peer, c] of outPeers) {
    const kept = keepOut.has(peer);
    if (!kept) grouped++;
    addCounts(node(kept ? `peer:out:${peer}` : OTHER_OUTBOUND, { kind: 'peer', label: kept ? peer : '', pid: null, members: 0, special: kept ? null : 'other-peers', direction: 'outbound' }), c);
  }
  for (const [pair, c] of t.inbound.map) {
    const cut = pair.lastIndexOf('|');
    const peer = pair.slice(0, cut);
    const listener = `listener:${pair.slice(cut + 1)}`;
    edge(keepIn.has(peer) ? `peer:in:${peer}` : OTHER_INBOUND, listener, 'inbound', c);
    addCounts(node(listener, { kind: 'listener', label: pair.slice(cut + 1), pid: null, members: 1, special: null, direction: 'inbound' }), c);
    const owner = t.listenerOwner.get(pair.slice(cut + 1));
    if (owner !== undefined) {
      const pid = processId(owner);
      edge(listener, pid, 'inbound', c);
      addCounts(processNode(pid), c);
    }
  }
  for (const [pair, c] of t.outbound.map) {
    const cut = pair.indexOf('|');
    const pid = pair.slice(0, cut);
    const peer = pair.slice(cut + 1);
    edge(pid, keepOut.has(peer) ? `peer:out:${peer}` : OTHER_OUTBOUND, 'outbound', c);
    addCounts(processNode(pid), c);
  }
  const members = (id: string): number => (id === OTHER_INBOUND ? inPeers.size - keepIn.size : id === OTHER_OUTBOUND ? outPeers.size - keepOut.size : 1);
  return {
    fromMs: input.fromMs,
    toMs: input.toMs,
    takenAtMs: input.takenAtMs,
    nodes: [...nodes.values()].map((n) => (n.kind === 'peer' ? { ...n, members: members(n.id) } : n)).sort(byId),
    edges: [...edges.values()].sort((a, b) => byId({ id: a.from + ' ' + a.to }, { id: b.from + ' ' + b.to })),
    peers: { inbound: inPeers.size, outbound: outPeers.size, grouped },
    events: input.eventStatus,
  };
}

function countsAt(m: Map<string, MapCounts>, key: string): MapCounts {
  let c = m.get(key);
  if (c === undefined) {
    c = zeroCounts();
    m.set(key, c);
  }
  return c;
}

function byId(a: { readonly id: string }, b: { readonly id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
