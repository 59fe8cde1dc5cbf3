/**
 * Zeek's conn_state and history rules, one hand-made capture each (packets built by
 * test/helpers/craft.ts and fed to the analyser as a capture would be). Expected values are
 * Zeek's, reasoned from base/protocols/conn/main.zeek and its TCP analyzer; the same rules are
 * checked against Zeek's own test baselines by test/tools/zeek-compare.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TcpAnalyzer } from './analyzer.js';
import { buildIpTcp, wrapLink } from '../../../test/helpers/craft.js';
import type { SegmentSpec } from '../../../test/helpers/craft.js';
import { TH_ACK, TH_FIN, TH_PUSH, TH_RST, TH_SYN } from './decode.js';
import { LinkType } from '../../model/packet.js';
import type { RawPacket } from '../../model/packet.js';
import type { AnalysisReport } from './report-types.js';

const A = TH_ACK;
const PA = TH_ACK | TH_PUSH;
const FA = TH_ACK | TH_FIN;

/** A capture of one 4-tuple: `c(ms, seq, ack, flags, payload)` from the client, `s(...)` from the server. */
function capture(clientPort = 40000, serverPort = 5001): {
  c: (ms: number, seq: number, ack: number, flags: number, payload?: number, window?: number) => void;
  s: (ms: number, seq: number, ack: number, flags: number, payload?: number, window?: number) => void;
  report: () => AnalysisReport;
} {
  const analyzer = new TcpAnalyzer();
  let index = 0;
  const feed = (ms: number, spec: SegmentSpec): void => {
    const frame = wrapLink(LinkType.RAW, buildIpTcp(spec));
    const us = Math.round(ms * 1000);
    const p: RawPacket<Buffer> = {
      index: ++index, fileOffset: 0, linkType: LinkType.RAW, tsSec: 1_700_000_000 + Math.floor(us / 1e6), tsNsec: (us % 1e6) * 1000,
      capLen: frame.length, origLen: frame.length, buf: frame, offset: 0, interfaceId: 0,
    };
    analyzer.add(p);
  };
  const client = { src: '10.0.0.1', dst: '10.0.0.2', sport: clientPort, dport: serverPort };
  const server = { src: '10.0.0.2', dst: '10.0.0.1', sport: serverPort, dport: clientPort };
  return {
    c: (ms, seq, ack, flags, payload = 0, window = 1000) => feed(ms, { ...client, seq, ack, flags, payload, window }),
    s: (ms, seq, ack, flags, payload = 0, window = 1000) => feed(ms, { ...server, seq, ack, flags, payload, window }),
    report: () => analyzer.finish({ file: null, format: null, linkTypes: [] }),
  };
}

function rows(r: AnalysisReport): Array<[string, string, string]> {
  return r.connections.map((c) => [`${c.client.address}:${c.client.port}`, c.state, c.history]);
}

/** Handshake with client ISN 100 and server ISN 500. */
function handshake(k: ReturnType<typeof capture>, ms = 0): void {
  k.c(ms, 100, 0, TH_SYN);
  k.s(ms + 1, 500, 101, TH_SYN | A);
  k.c(ms + 2, 101, 501, A);
}

test('a complete connection is SF with history ShADadFf', () => {
  const k = capture();
  handshake(k);
  k.c(3, 101, 501, PA, 10);
  k.s(4, 501, 111, PA, 20);
  k.c(5, 111, 521, FA);
  k.s(6, 521, 112, FA);
  k.c(7, 112, 522, A);
  assert.deepEqual(rows(k.report()), [['10.0.0.1:40000', 'SF', 'ShADdFf']]);
});

test('^ when the direction is flipped: a SYN-ACK first from a likely server port makes its receiver the originator', () => {
  const k = capture(40000, 80);
  k.s(0, 500, 101, TH_SYN | A);
  k.c(1, 101, 501, A);
  const r = k.report();
  assert.deepEqual(rows(r), [['10.0.0.1:40000', 'S1', '^hA']]);
  assert.equal(r.connections[0]?.server.port, 80);
});

test('^ when the direction is flipped: a SYN-ACK first between unlisted ports flips at the first ACK after it', () => {
  const k = capture(40000, 5001);
  k.s(0, 500, 101, TH_SYN | A);
  k.c(1, 101, 501, A);
  assert.deepEqual(rows(k.report()), [['10.0.0.1:40000', 'OTH', '^hA']]);
});

test('^ when the direction is flipped: midstream data from a likely server port flips at the first packet', () => {
  const k = capture(40000, 443);
  k.s(0, 500, 101, PA, 100);
  k.c(1, 101, 600, A);
  assert.deepEqual(rows(k.report()), [['10.0.0.1:40000', 'OTH', '^dA']]);
});

test('a SYN-ACK and the client ACK without the SYN are established: S1, then SF after both FINs', () => {
  const k = capture(40000, 80);
  k.s(0, 500, 101, TH_SYN | A);
  k.c(1, 101, 501, A);
  k.c(2, 101, 501, PA, 10);
  k.s(3, 501, 111, PA, 10);
  k.c(4, 111, 511, FA);
  k.s(5, 511, 112, FA);
  assert.deepEqual(rows(k.report()), [['10.0.0.1:40000', 'SF', '^hADdFf']]);
});

test('no handshake and both sides FIN is SF, not OTH', () => {
  const k = capture();
  k.c(0, 101, 501, PA, 10);
  k.s(1, 501, 111, PA, 10);
  k.c(2, 111, 511, FA);
  k.s(3, 511, 112, FA);
  assert.deepEqual(rows(k.report()), [['10.0.0.1:40000', 'SF', 'DdFf']]);
});

test('a RST after a completed FIN exchange is still SF', () => {
  const k = capture();
  handshake(k);
  k.c(3, 101, 501, FA);
  k.s(4, 501, 102, FA);
  k.c(5, 102, 502, TH_RST);
  assert.deepEqual(rows(k.report()), [['10.0.0.1:40000', 'SF', 'ShAFfR']]);
});

test('RSTOS0 only without a preceding FIN: SYN then RST is RSTOS0, SYN, FIN, RST is OTH', () => {
  const a = capture();
  a.c(0, 100, 0, TH_SYN);
  a.c(1, 101, 0, TH_RST);
  assert.deepEqual(rows(a.report()), [['10.0.0.1:40000', 'RSTOS0', 'SR']]);
  const b = capture();
  b.c(0, 100, 0, TH_SYN);
  b.c(1, 101, 0, TH_FIN);
  b.c(2, 102, 0, TH_RST);
  assert.deepEqual(rows(b.report()), [['10.0.0.1:40000', 'OTH', 'SFR']]);
});

test('RSTO, RSTR and REJ by who reset and when', () => {
  const o = capture();
  handshake(o);
  o.c(3, 101, 501, TH_RST | A);
  assert.deepEqual(rows(o.report()), [['10.0.0.1:40000', 'RSTO', 'ShAR']]);
  const r = capture();
  handshake(r);
  r.s(3, 501, 101, TH_RST | A);
  assert.deepEqual(rows(r.report()), [['10.0.0.1:40000', 'RSTR', 'ShAr']]);
  const j = capture();
  j.c(0, 100, 0, TH_SYN);
  j.s(1, 0, 101, TH_RST | A);
  assert.deepEqual(rows(j.report()), [['10.0.0.1:40000', 'REJ', 'Sr']]);
});

test('content gaps as g/G: data acknowledged but never seen', () => {
  const k = capture();
  handshake(k);
  k.c(3, 101, 501, PA, 100);
  k.c(4, 301, 501, PA, 100); // 201..301 never captured
  k.s(5, 501, 401, A);
  k.s(6, 501, 401, PA, 50);
  k.s(7, 651, 401, PA, 50); // 551..651 never captured
  k.c(8, 401, 701, A);
  k.c(9, 401, 701, FA);
  k.s(10, 701, 402, FA);
  assert.deepEqual(rows(k.report()), [['10.0.0.1:40000', 'SF', 'ShADaGdgFf']]);
});

test('a new SYN on a 4-tuple that was closed starts a new connection, even with the same ISN', () => {
  const k = capture();
  handshake(k);
  k.c(3, 101, 501, FA);
  k.s(4, 501, 102, FA);
  k.c(5, 102, 502, A);
  handshake(k, 1000); // the same ISNs a second later: one stream for Wireshark, two connections for Zeek
  const r = k.report();
  assert.deepEqual(rows(r), [['10.0.0.1:40000', 'SF', 'ShAFf'], ['10.0.0.1:40000', 'S1', 'ShA']]);
  assert.equal(r.summary.streams, 1);
  assert.equal(r.summary.connections, 2);
});

test('a new SYN on a 4-tuple that was reset starts a new connection', () => {
  const k = capture();
  k.c(0, 100, 0, TH_SYN);
  k.s(1, 0, 101, TH_RST | A);
  k.c(1000, 100, 0, TH_SYN);
  k.s(1001, 0, 101, TH_RST | A);
  assert.deepEqual(rows(k.report()), [['10.0.0.1:40000', 'REJ', 'Sr'], ['10.0.0.1:40000', 'REJ', 'Sr']]);
});

test('an unanswered SYN retried past the 5 s attempt timer is a new S0 connection, as Zeek times it out', () => {
  const k = capture();
  k.c(0, 100, 0, TH_SYN);
  k.c(1000, 100, 0, TH_SYN);
  k.c(3000, 100, 0, TH_SYN);
  k.c(7000, 100, 0, TH_SYN);
  assert.deepEqual(rows(k.report()), [['10.0.0.1:40000', 'S0', 'S'], ['10.0.0.1:40000', 'S0', 'S']]);
});

test('retransmissions and zero windows are logarithmic letters: the 1st and the 10th', () => {
  const k = capture();
  handshake(k);
  k.c(3, 101, 501, PA, 10);
  for (let i = 0; i < 10; i++) k.c(4 + i, 101, 501, PA, 10);
  for (let i = 0; i < 3; i++) k.s(20 + i, 501, 111, A);
  assert.deepEqual(rows(k.report()), [['10.0.0.1:40000', 'S1', 'ShADTTa']]);
  const zero = capture();
  handshake(zero);
  for (let i = 0; i < 12; i++) zero.s(3 + i, 501, 101, A, 0, 0);
  assert.deepEqual(rows(zero.report()), [['10.0.0.1:40000', 'S1', 'ShAaww']]);
});

test('multi-flag packets: SYN+FIN is Q, FIN+RST is I (a SYN after the close starts a new connection)', () => {
  const k = capture();
  k.c(0, 100, 0, TH_SYN | TH_FIN);
  k.c(1, 100, 0, TH_SYN | TH_FIN);
  k.s(2, 500, 101, TH_FIN | TH_RST);
  assert.deepEqual(rows(k.report()).map((r) => r[2]), ['Q', 'Qi']);
});
