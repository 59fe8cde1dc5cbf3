import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TcpAnalyzer } from './analyzer.js';
import { buildIpTcp, synOptions, wrapLink } from '../../../test/helpers/craft.js';
import type { SegmentSpec } from '../../../test/helpers/craft.js';
import { TH_ACK, TH_FIN, TH_RST, TH_SYN } from './decode.js';
import { LinkType } from '../../model/packet.js';
import type { RawPacket } from '../../model/packet.js';

function feeder(analyzer: TcpAnalyzer): (usec: number, spec: SegmentSpec) => void {
  let index = 0;
  return (usec, spec) => {
    const frame = wrapLink(LinkType.RAW, buildIpTcp(spec));
    const p: RawPacket<Buffer> = {
      index: ++index, fileOffset: 0, linkType: LinkType.RAW, tsSec: 1_700_000_000 + Math.floor(usec / 1e6), tsNsec: (usec % 1e6) * 1000,
      capLen: frame.length, origLen: frame.length, buf: frame, offset: 0, interfaceId: 0,
    };
    analyzer.add(p);
  };
}

/** A complete short connection: handshake, one request, FINs. */
function shortConnection(feed: ReturnType<typeof feeder>, usec: number, i: number): void {
  const c = { src: `10.9.${(i >> 8) & 255}.${i & 255}`, dst: '10.0.0.1', sport: 1024 + (i % 60000), dport: 80 };
  const s = { src: c.dst, dst: c.src, sport: 80, dport: c.sport };
  feed(usec, { ...c, seq: 100, ack: 0, flags: TH_SYN, window: 64240, options: synOptions(1460, 7) });
  feed(usec + 10, { ...s, seq: 500, ack: 101, flags: TH_SYN | TH_ACK, window: 65160, options: synOptions(1460, 7) });
  feed(usec + 20, { ...c, seq: 101, ack: 501, flags: TH_ACK, window: 502, payload: 40 });
  feed(usec + 30, { ...s, seq: 501, ack: 141, flags: TH_ACK | TH_FIN, window: 509 });
  feed(usec + 40, { ...c, seq: 141, ack: 502, flags: TH_ACK | TH_FIN, window: 502 });
  feed(usec + 50, { ...s, seq: 502, ack: 142, flags: TH_ACK, window: 509 });
}

test('memory follows live connections: closed ones are folded in after TIME-WAIT or past the cap', () => {
  const analyzer = new TcpAnalyzer({ maxConnections: 10 });
  const feed = feeder(analyzer);
  let maxLive = 0;
  // 20,000 connections within 2 s of capture time: only the closed-connection cap bounds them.
  for (let i = 0; i < 20_000; i++) {
    shortConnection(feed, i * 100, i);
    maxLive = Math.max(maxLive, analyzer.liveConnections);
  }
  assert.ok(maxLive <= 4097, `at most 4096 closed connections are held (saw ${maxLive})`);
  // Two minutes later, everything closed is past TIME-WAIT and goes at the next sweep.
  for (let i = 0; i < 70_000; i++) feed(200_000_000 + i, { src: '10.8.0.1', dst: '10.0.0.1', sport: 999, dport: 80, seq: 1 + i, ack: 1, flags: TH_ACK, window: 100, payload: 1 });
  assert.ok(analyzer.liveConnections <= 2, `closed connections expired (live ${analyzer.liveConnections})`);
  const report = analyzer.finish({ file: null, format: null, linkTypes: [] });
  assert.equal(report.summary.connections, 20_001);
  assert.equal(report.summary.handshakesCompleted, 20_000);
  assert.equal(report.connStates.SF, 20_000);
  assert.equal(report.connections.length, 10, 'the listing is capped');
  assert.equal(report.packets, 20_000 * 6 + 70_000);
});

test('a new SYN with a new ISN on the same ports is a new stream (port reuse), as in Wireshark; after a RST any SYN is a new connection, as in Zeek', () => {
  const analyzer = new TcpAnalyzer();
  const feed = feeder(analyzer);
  const c = { src: '10.0.0.5', dst: '10.0.0.6', sport: 4000, dport: 22 };
  const s = { src: c.dst, dst: c.src, sport: 22, dport: 4000 };
  feed(0, { ...c, seq: 1, ack: 0, flags: TH_SYN, window: 1000 });
  feed(10, { ...s, seq: 0, ack: 2, flags: TH_RST | TH_ACK, window: 0 });
  feed(1_000_000, { ...c, seq: 1, ack: 0, flags: TH_SYN, window: 1000 }); // same ISN: a retransmission
  feed(2_000_000, { ...c, seq: 777, ack: 0, flags: TH_SYN, window: 1000 }); // new ISN: new connection
  const r = analyzer.finish({ file: null, format: null, linkTypes: [] });
  assert.equal(r.summary.streams, 2);
  assert.equal(r.summary.connections, 3);
  assert.equal(r.summary.retransmissions, 1, 'the same-ISN SYN is a retransmission for Wireshark');
  assert.deepEqual(r.connections.map((x) => [x.id, x.stream, x.state, x.history]), [[0, 0, 'REJ', 'Sr'], [1, 0, 'S0', 'S'], [2, 1, 'S0', 'S']]);
  assert.equal(r.connections[0]?.resetBy, 'server');
});
