import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildServiceMap, OTHER_INBOUND, OTHER_OUTBOUND, UNKNOWN_PROCESS } from './service-map.js';
import type { ServiceMapInput } from './service-map.js';
import type { AgentEvent } from '../model/agent-event.js';
import type { ListenerSummary } from '../model/listener.js';
import type { TcpSocket } from '../model/socket.js';
import type { TcpState } from '../model/tcp-state.js';
import type { MapCounts, ServiceMap } from '../model/service-map.js';
import { worstProblem } from '../model/service-map.js';

const T0 = 1_764_590_400_000;
const ep = (address: string, port: number) => ({ address, port });

function sock(local: [string, number], remote: [string, number], owner: [number, string] | null, state: TcpState = 'ESTABLISHED'): TcpSocket {
  return { family: 4, state, local: ep(...local), remote: ep(...remote), pid: owner?.[0] ?? null, process: owner?.[1] ?? null } as unknown as TcpSocket;
}

function listener(address: string, port: number, pid: number, process: string): ListenerSummary {
  return { family: 4, local: ep(address, port), pid, process } as unknown as ListenerSummary;
}

function ev(kind: AgentEvent['kind'], local: [string, number], remote: [string, number], direction: string | null = null, ts = T0 + 1000): AgentEvent {
  return { ts, kind, family: 4, local: ep(...local), remote: ep(...remote), direction, state: null, reason: null, detail: {} };
}

function build(partial: Partial<ServiceMapInput>): ServiceMap {
  return buildServiceMap({ fromMs: T0, toMs: T0 + 60_000, takenAtMs: T0 + 60_000, sockets: [], listeners: [], events: [], topPeers: 10, eventStatus: { running: true, reason: null, hint: null }, ...partial });
}

const counts = (c: Partial<MapCounts>): MapCounts => ({ connections: 0, retransmits: 0, resetsSent: 0, resetsReceived: 0, failedConnects: 0, ...c });
const edgeOf = (m: ServiceMap, from: string, to: string) => m.edges.find((e) => e.from === from && e.to === to)?.counts;
const nodeOf = (m: ServiceMap, id: string) => m.nodes.find((n) => n.id === id);

test('inbound connections run peer -> listener -> process, outbound ones process -> peer:port', () => {
  const m = build({
    listeners: [{ ...listener('0.0.0.0', 8080, 10, 'web'), pid: null, process: null }],
    sockets: [
      sock(['0.0.0.0', 8080], ['0.0.0.0', 0], [10, 'web'], 'LISTEN'),
      sock(['10.0.0.1', 8080], ['10.0.0.9', 40001], [10, 'web']),
      sock(['10.0.0.1', 8080], ['10.0.0.9', 40002], [10, 'web']),
      sock(['10.0.0.1', 8080], ['10.0.0.8', 40003], null, 'TIME_WAIT'),
      sock(['10.0.0.1', 51000], ['10.0.0.20', 5432], [10, 'web']),
    ],
  });
  assert.deepEqual(edgeOf(m, 'peer:in:10.0.0.9', 'listener:0.0.0.0:8080'), counts({ connections: 2 }));
  assert.deepEqual(edgeOf(m, 'listener:0.0.0.0:8080', 'process:10'), counts({ connections: 2 }), 'a listener without an owner takes the one of its LISTEN socket');
  assert.deepEqual(edgeOf(m, 'process:10', 'peer:out:10.0.0.20:5432'), counts({ connections: 1 }));
  assert.equal(nodeOf(m, 'peer:in:10.0.0.8'), undefined, 'a TIME_WAIT socket is a connection that is over');
  assert.deepEqual(nodeOf(m, 'process:10')?.counts, counts({ connections: 3 }));
  assert.equal(nodeOf(m, 'process:10')?.label, 'web');
  assert.deepEqual(m.peers, { inbound: 1, outbound: 1, grouped: 0 });
});

test('a refused connect colours the edge to its destination with the failed connect and the reset received', () => {
  const m = build({
    listeners: [listener('127.0.0.1', 8080, 10, 'web')],
    events: [
      ev('reset', ['127.0.0.2', 40000], ['127.0.0.3', 9], 'received'),
      ev('connect-failed', ['127.0.0.2', 40000], ['127.0.0.3', 9], 'active'),
      ev('reset', ['127.0.0.3', 9], ['127.0.0.2', 40000], 'sent'),
    ],
  });
  const refused = edgeOf(m, UNKNOWN_PROCESS, 'peer:out:127.0.0.3:9') ?? counts({});
  assert.deepEqual(refused, counts({ failedConnects: 1, resetsReceived: 1 }));
  assert.equal(worstProblem(refused), 'failed');
  assert.equal(nodeOf(m, UNKNOWN_PROCESS)?.special, 'unknown-process');
  // The kernel's answer from the closed port: a peer sending SYNs where no one listens.
  assert.deepEqual(edgeOf(m, 'peer:in:127.0.0.2', 'listener:closed:127.0.0.3:9'), counts({ resetsSent: 1 }));
  assert.equal(nodeOf(m, 'listener:closed:127.0.0.3:9')?.special, 'closed-port');
  // The idle listener is still drawn, linked to its process.
  assert.deepEqual(edgeOf(m, 'listener:127.0.0.1:8080', 'process:10'), counts({}));
});

test('an outbound event takes the owner of the open socket with the same ends', () => {
  const m = build({
    sockets: [sock(['10.0.0.1', 51000], ['10.0.0.20', 443], [7, 'curl'])],
    events: [ev('retransmit', ['10.0.0.1', 51000], ['10.0.0.20', 443], 'data'), ev('retransmit', ['10.0.0.1', 51000], ['10.0.0.20', 443], 'data')],
  });
  assert.deepEqual(edgeOf(m, 'process:7', 'peer:out:10.0.0.20:443'), counts({ connections: 1, retransmits: 2 }));
  assert.equal(worstProblem(edgeOf(m, 'process:7', 'peer:out:10.0.0.20:443')!), 'retransmit');
});

test('events outside the window and kinds that are not problems are left out', () => {
  const m = build({
    events: [ev('retransmit', ['10.0.0.1', 51000], ['10.0.0.20', 443], 'data', T0 - 1), ev('state', ['10.0.0.1', 51000], ['10.0.0.20', 443])],
  });
  assert.deepEqual(m.edges, []);
  assert.deepEqual(m.nodes, []);
});

test('past the top K peers the rest are one other node per direction, and the totals stay exact', () => {
  const sockets: TcpSocket[] = [];
  for (let i = 0; i < 500; i++) sockets.push(sock(['10.0.0.1', 80], [`10.1.${i >> 8}.${i & 255}`, 40000], [1, 'nginx']));
  for (let i = 0; i < 300; i++) sockets.push(sock(['10.0.0.1', 50000 + i], [`10.2.0.${i % 250}`, 6379 + (i >= 250 ? 1 : 0)], [1, 'nginx']));
  // One peer with a problem outranks peers with one connection each.
  const events = [ev('reset', ['10.0.0.1', 80], ['10.1.1.200', 40000], 'received'), ev('reset', ['10.0.0.1', 80], ['10.1.1.200', 40000], 'received')];
  const m = build({ listeners: [listener('0.0.0.0', 80, 1, 'nginx')], sockets, events, topPeers: 5 });
  const peers = m.nodes.filter((n) => n.kind === 'peer');
  assert.equal(peers.length, 12, 'five kept and one other, per direction');
  assert.ok(nodeOf(m, 'peer:in:10.1.1.200') !== undefined);
  assert.equal(nodeOf(m, OTHER_INBOUND)?.members, 495);
  assert.equal(nodeOf(m, OTHER_OUTBOUND)?.members, 300 - 5);
  assert.equal(edgeOf(m, OTHER_INBOUND, 'listener:0.0.0.0:80')?.connections, 495);
  const inTotal = m.edges.filter((e) => e.to === 'listener:0.0.0.0:80').reduce((n, e) => n + e.counts.connections, 0);
  assert.equal(inTotal, 500);
  assert.deepEqual(nodeOf(m, 'listener:0.0.0.0:80')?.counts, counts({ connections: 500, resetsReceived: 2 }));
  assert.deepEqual(m.peers, { inbound: 500, outbound: 300, grouped: 495 + 295 });
});

test('the worst problem decides the colour: failed connects, then resets, then retransmissions', () => {
  assert.equal(worstProblem(counts({ retransmits: 50, resetsSent: 1 })), 'reset');
  assert.equal(worstProblem(counts({ retransmits: 50, failedConnects: 1 })), 'failed');
  assert.equal(worstProblem(counts({ connections: 9 })), 'none');
});
