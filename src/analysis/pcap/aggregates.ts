/**
 * What the analyser accumulates across connections for the report and the diagnosis rules: the
 * per-second timeline, top talkers, retransmissions per peer, SYNs per service, zero-window
 * stalls and ICMP errors. Each table is bounded, so memory does not grow with the capture.
 */
import { icmpErrorInfo } from '../../model/icmp.js';
import type { TalkerJson, TimelineBucket } from './report-types.js';
import type { CaptureInputs, IcmpInput } from './capture-inputs.js';

/**
 * Per-host tables (talkers, retransmissions per peer) hold at most this many hosts; when full,
 * the smaller half is dropped (heavy hitters stay, their counts exact from their first packet
 * on), so memory does not grow with the number of distinct addresses.
 */
const MAX_HOSTS_TRACKED = 8192;
/** One bucket per second of capture: a day of seconds at most (hostile timestamps included). */
const MAX_TIMELINE_BUCKETS = 86_400;
const MAX_SERVICES_TRACKED = 8192;
const MAX_STALLS = 200;
/** Distinct (error, destination, sender) groups of ICMP errors kept for findings. */
const MAX_ICMP_GROUPS = 1024;

interface PeerRetrans {
  dataSegments: number;
  retransmissions: number;
}

interface ServiceSyn {
  syn: number;
  completed: number;
  refused: number;
  sources: Set<string>;
  sourcePorts: number;
}

export interface Stall {
  id: number;
  client: string;
  server: string;
  stallMs: number;
  zeroWindows: number;
}

interface IcmpGroup extends IcmpInput {
  connections: Set<number>;
}

export class CaptureAggregates {
  private readonly timeline = new Map<number, TimelineBucket>();
  private readonly talkers = new Map<string, TalkerJson>();
  private readonly peers = new Map<string, PeerRetrans>();
  private readonly services = new Map<string, ServiceSyn>();
  private stalls: Stall[] = [];
  private readonly icmp = new Map<string, IcmpGroup>();

  /** The bucket of second `sec`, or null past the cap. */
  bucket(sec: number): TimelineBucket | null {
    let b = this.timeline.get(sec);
    if (b === undefined) {
      if (this.timeline.size >= MAX_TIMELINE_BUCKETS) return null;
      b = { t: sec, syn: 0, synAck: 0, fin: 0, rst: 0, retransmissions: 0, packets: 0, bytes: 0, icmpErrors: 0 };
      this.timeline.set(sec, b);
    }
    return b;
  }

  peer(address: string): PeerRetrans {
    let peer = this.peers.get(address);
    if (peer === undefined) {
      if (this.peers.size >= MAX_HOSTS_TRACKED) pruneHalf(this.peers, (p) => p.retransmissions * 1e6 + p.dataSegments);
      peer = { dataSegments: 0, retransmissions: 0 };
      this.peers.set(address, peer);
    }
    return peer;
  }

  addTalker(address: string, packets: number, bytes: number): void {
    let t = this.talkers.get(address);
    if (t === undefined) {
      if (this.talkers.size >= MAX_HOSTS_TRACKED) pruneHalf(this.talkers, (x) => x.bytes + x.packets);
      t = { address, packets: 0, bytes: 0 };
      this.talkers.set(address, t);
    }
    t.packets += packets;
    t.bytes += bytes;
  }

  /** A connection the client opened with a SYN, toward `server`: for the SYN-flood and refusal findings. */
  addAttempt(serverAddress: string, serverPort: number, clientAddress: string, syn: number, completed: boolean, refused: boolean): void {
    const key = `${serverAddress} ${serverPort}`;
    let svc = this.services.get(key);
    if (svc === undefined) {
      if (this.services.size >= MAX_SERVICES_TRACKED) return;
      svc = { syn: 0, completed: 0, refused: 0, sources: new Set(), sourcePorts: 0 };
      this.services.set(key, svc);
    }
    svc.syn += syn;
    svc.sourcePorts++;
    if (completed) svc.completed++;
    if (refused) svc.refused++;
    if (svc.sources.size < 10_000) svc.sources.add(clientAddress);
  }

  addStall(stall: Stall): void {
    this.stalls.push(stall);
    if (this.stalls.length > MAX_STALLS) {
      this.stalls.sort((x, y) => y.stallMs - x.stallMs);
      this.stalls = this.stalls.slice(0, MAX_STALLS / 2);
    }
  }

  /**
   * An ICMP error from `from` quoting a segment `sender` -> `server`; `mss` is what the
   * sender's segments may carry on that connection (-1: unknown), `connection` its id (-1: none).
   */
  addIcmp(family: 4 | 6, type: number, code: number, mtu: number, from: string, sender: string, server: string, connection: number, mss: number, atMs: number): void {
    const key = `${family} ${type} ${code} ${mtu} ${from} ${server}`;
    let g = this.icmp.get(key);
    if (g === undefined) {
      if (this.icmp.size >= MAX_ICMP_GROUPS) return;
      const info = icmpErrorInfo(family, type, code);
      g = { kind: info.kind, name: info.name, family, type, code, mtu, from, server, senders: [], count: 0, connections: new Set(), mss: -1, firstMs: atMs };
      this.icmp.set(key, g);
    }
    g.count++;
    if (connection >= 0 && g.connections.size < 10_000) g.connections.add(connection);
    if (g.senders.length < 10 && !g.senders.includes(sender)) g.senders.push(sender);
    if (mss > g.mss) g.mss = mss;
  }

  timelineSorted(): TimelineBucket[] {
    return [...this.timeline.values()].sort((x, y) => x.t - y.t);
  }

  topTalkers(n: number): TalkerJson[] {
    return [...this.talkers.values()].sort((x, y) => y.bytes - x.bytes || y.packets - x.packets).slice(0, n);
  }

  captureInputs(): CaptureInputs {
    return {
      services: [...this.services.entries()].map(([key, s]) => {
        const [address = '', port = '0'] = key.split(' ');
        return { address, port: Number(port), syn: s.syn, completed: s.completed, refused: s.refused, sources: s.sources.size, sourcePorts: s.sourcePorts };
      }),
      peers: [...this.peers.entries()].map(([address, p]) => ({ address, ...p })),
      stalls: this.stalls,
      peakSynPerSecond: Math.max(0, ...[...this.timeline.values()].map((b) => b.syn)),
      icmp: [...this.icmp.values()].map(({ connections, ...g }) => ({ ...g, connectionIds: [...connections].slice(0, 20) })),
    };
  }
}

/** Drop the lower-scoring half of a bounded per-host table. */
function pruneHalf<V>(map: Map<string, V>, score: (v: V) => number): void {
  const entries = [...map.entries()].sort((x, y) => score(y[1]) - score(x[1]));
  map.clear();
  for (const [k, v] of entries.slice(0, entries.length >> 1)) map.set(k, v);
}
