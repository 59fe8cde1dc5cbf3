/**
 * Fixture conversations for encapsulations and ICMP errors (test/analyze-fixtures.ts writes
 * them): one short TCP connection inside each tunnel kind the decoder follows, and connections
 * that ICMP and ICMPv6 errors refuse, cut or redirect. Ethernet frames, built by craft.ts.
 */
import {
  buildGre, buildIcmpError, buildIp, buildIpTcp, buildUdp, erspan2, ethernetFrame, ethernetIp, geneve, mplsStack,
  pbbPayload, pppoeSession, synOptions, teredo, vxlan,
} from './helpers/craft.js';
import type { SegmentSpec } from './helpers/craft.js';
import { TH_ACK, TH_FIN, TH_PUSH, TH_SYN } from '../src/analysis/pcap/decode.js';

export interface FramePacket {
  sec: number;
  nsec: number;
  /** The whole Ethernet frame. */
  frame: Buffer;
}

const BASE_SEC = 1_700_100_000;

/** How each tunnel wraps an inner IP packet into an Ethernet frame. */
export const TUNNELS: ReadonlyArray<[string, (ip: Buffer) => Buffer]> = [
  ['mpls', (ip) => ethernetFrame(0x8847, mplsStack([16, 1001], ip))],
  ['pppoe', (ip) => ethernetFrame(0x8864, pppoeSession(ip))],
  ['802.1ah', (ip) => ethernetFrame(0x88e7, pbbPayload(5000, ethernetIp(ip)), [20])],
  ['gre', (ip) => ethernetIp(buildGre('198.51.100.1', '198.51.100.2', ip[0]! >> 4 === 6 ? 0x86dd : 0x0800, ip, { key: 7, checksum: true }))],
  ['erspan1', (ip) => ethernetIp(buildGre('198.51.100.1', '198.51.100.2', 0x88be, ethernetIp(ip)))],
  ['erspan2', (ip) => ethernetIp(buildGre('198.51.100.1', '198.51.100.2', 0x88be, erspan2(ethernetIp(ip)), { sequence: 1 }))],
  ['vxlan', (ip) => ethernetIp(buildUdp('198.51.100.1', '198.51.100.2', 49152, 4789, vxlan(ethernetIp(ip))))],
  ['geneve', (ip) => ethernetIp(buildUdp('198.51.100.1', '198.51.100.2', 49153, 6081, geneve(ethernetIp(ip), 9, 2)))],
  ['ipip', (ip) => ethernetIp(buildIp('198.51.100.1', '198.51.100.2', 4, ip))],
  ['6in4', (ip) => ethernetIp(buildIp('198.51.100.1', '198.51.100.2', 41, ip))],
  ['teredo', (ip) => ethernetIp(buildUdp('198.51.100.1', '198.51.100.2', 3544, 49154, teredo(ip, true)))],
];

/**
 * One connection per tunnel (handshake, a request, a reply, FINs; one retransmission each so
 * the verdicts have something to agree on). Inner addresses are IPv6 for 6in4 and Teredo.
 */
export function tunnelScenario(): FramePacket[] {
  const out: FramePacket[] = [];
  let us = 0;
  TUNNELS.forEach(([name, wrap], i) => {
    const v6 = name === '6in4' || name === 'teredo';
    const c = { src: v6 ? `2001:db8:1::${i + 1}` : `10.20.${i}.1`, dst: v6 ? '2001:db8:2::1' : '10.20.255.1', sport: 51000 + i, dport: 443 };
    const s = { src: c.dst, dst: c.src, sport: c.dport, dport: c.sport };
    const at = (deltaUs: number, spec: SegmentSpec): void => {
      us += deltaUs;
      out.push({ sec: BASE_SEC + Math.floor(us / 1e6), nsec: (us % 1e6) * 1000, frame: wrap(buildIpTcp(spec)) });
    };
    at(1000, { ...c, seq: 100, ack: 0, flags: TH_SYN, window: 64240, options: synOptions(1400, 7) });
    at(2000, { ...s, seq: 900, ack: 101, flags: TH_SYN | TH_ACK, window: 65160, options: synOptions(1400, 7) });
    at(2000, { ...c, seq: 101, ack: 901, flags: TH_ACK, window: 502 });
    at(100, { ...c, seq: 101, ack: 901, flags: TH_ACK | TH_PUSH, window: 502, payload: 200 });
    at(250_000, { ...c, seq: 101, ack: 901, flags: TH_ACK | TH_PUSH, window: 502, payload: 200 }); // retransmitted
    at(2000, { ...s, seq: 901, ack: 301, flags: TH_ACK | TH_PUSH, window: 509, payload: 300 });
    at(100, { ...c, seq: 301, ack: 1201, flags: TH_ACK | TH_FIN, window: 502 });
    at(2000, { ...s, seq: 1201, ack: 302, flags: TH_ACK | TH_FIN, window: 509 });
    at(100, { ...c, seq: 302, ack: 1202, flags: TH_ACK, window: 502 });
  });
  return out;
}

/**
 * Connections that ICMP errors speak about, with the segments they quote:
 * - a SYN to 203.0.113.10:5432 refused three times by "communication administratively prohibited";
 * - a SYN to 203.0.113.11:25 answered by port unreachable (an iptables REJECT);
 * - a transfer whose 1400-byte segments hit "fragmentation needed" with next-hop MTU 1300;
 * - IPv6: a transfer cut by "packet too big" (MTU 1280), and a SYN whose hop limit ran out;
 * - an ICMP host unreachable quoting a connection the capture never saw.
 */
export function icmpScenario(): FramePacket[] {
  const out: FramePacket[] = [];
  let us = 0;
  const frame = (deltaUs: number, f: Buffer): void => {
    us += deltaUs;
    out.push({ sec: BASE_SEC + 100 + Math.floor(us / 1e6), nsec: (us % 1e6) * 1000, frame: f });
  };
  const seg = (spec: SegmentSpec): Buffer => buildIpTcp(spec);

  // Administratively prohibited (type 3 code 13), three attempts 1 s apart.
  const fw = { src: '10.30.0.1', dst: '203.0.113.10', sport: 40100, dport: 5432 };
  for (let i = 0; i < 3; i++) {
    const syn = seg({ ...fw, seq: 7000, ack: 0, flags: TH_SYN, window: 64240, options: synOptions(1460, 7) });
    frame(i === 0 ? 1000 : 1_000_000, ethernetIp(syn));
    frame(300, ethernetIp(buildIcmpError('192.0.2.254', fw.src, 3, 13, syn, { quoteBytes: syn.length })));
  }
  // Port unreachable (type 3 code 3) for TCP: a REJECT rule.
  const rj = { src: '10.30.0.1', dst: '203.0.113.11', sport: 40101, dport: 25 };
  const rjSyn = seg({ ...rj, seq: 8000, ack: 0, flags: TH_SYN, window: 64240, options: synOptions(1460, 7) });
  frame(1000, ethernetIp(rjSyn));
  frame(200, ethernetIp(buildIcmpError('203.0.113.11', rj.src, 3, 3, rjSyn)));

  // Fragmentation needed: MSS 1400 both ways, the 1400-byte segments do not fit MTU 1300.
  const mt = { src: '10.30.0.1', dst: '203.0.113.12', sport: 40102, dport: 443 };
  const mtS = { src: mt.dst, dst: mt.src, sport: mt.dport, dport: mt.sport };
  frame(1000, ethernetIp(seg({ ...mt, seq: 100, ack: 0, flags: TH_SYN, window: 64240, options: synOptions(1400, 7) })));
  frame(5000, ethernetIp(seg({ ...mtS, seq: 500, ack: 101, flags: TH_SYN | TH_ACK, window: 65160, options: synOptions(1400, 7) })));
  frame(5000, ethernetIp(seg({ ...mt, seq: 101, ack: 501, flags: TH_ACK, window: 502 })));
  const big = seg({ ...mt, seq: 101, ack: 501, flags: TH_ACK | TH_PUSH, window: 502, payload: 1400 });
  frame(100, ethernetIp(big));
  frame(2000, ethernetIp(buildIcmpError('10.30.255.1', mt.src, 3, 4, big, { mtu: 1300 })));
  frame(300_000, ethernetIp(seg({ ...mt, seq: 101, ack: 501, flags: TH_ACK | TH_PUSH, window: 502, payload: 1260 })));
  frame(5000, ethernetIp(seg({ ...mtS, seq: 501, ack: 1361, flags: TH_ACK, window: 509 })));

  // IPv6 packet too big (type 2), MTU 1280, on 1400-byte segments.
  const p6 = { src: '2001:db8:30::1', dst: '2001:db8:40::12', sport: 40103, dport: 443 };
  const p6S = { src: p6.dst, dst: p6.src, sport: p6.dport, dport: p6.sport };
  frame(1000, ethernetIp(seg({ ...p6, seq: 100, ack: 0, flags: TH_SYN, window: 64800, options: synOptions(1400, 7) })));
  frame(5000, ethernetIp(seg({ ...p6S, seq: 500, ack: 101, flags: TH_SYN | TH_ACK, window: 65160, options: synOptions(1400, 7) })));
  frame(5000, ethernetIp(seg({ ...p6, seq: 101, ack: 501, flags: TH_ACK, window: 502 })));
  const big6 = seg({ ...p6, seq: 101, ack: 501, flags: TH_ACK | TH_PUSH, window: 502, payload: 1400 });
  frame(100, ethernetIp(big6));
  frame(2000, ethernetIp(buildIcmpError('2001:db8:30::fe', p6.src, 2, 0, big6, { mtu: 1280, quoteBytes: 1232 })));

  // IPv6 hop limit exceeded (type 3 code 0) for a SYN.
  const hl = { src: '2001:db8:30::1', dst: '2001:db8:50::1', sport: 40104, dport: 22 };
  const hlSyn = seg({ ...hl, seq: 9000, ack: 0, flags: TH_SYN, window: 64800, options: synOptions(1440, 7) });
  frame(1000, ethernetIp(hlSyn));
  frame(300, ethernetIp(buildIcmpError('2001:db8:30::fe', hl.src, 3, 0, hlSyn)));

  // Host unreachable (type 3 code 1) quoting a connection not in the capture.
  const ghost = seg({ src: '10.30.0.9', dst: '203.0.113.99', sport: 40199, dport: 80, seq: 1, ack: 0, flags: TH_SYN, window: 64240 });
  frame(1000, ethernetIp(buildIcmpError('10.30.255.1', '10.30.0.9', 3, 1, ghost)));
  return out;
}
