/**
 * Builds the hand-made capture fixtures in test/fixtures/pcap/: the same small set of TCP
 * conversations (a handshake with options, loss, duplicate ACKs, a fast retransmission, a
 * spurious and a plain retransmission, out-of-order data, a zero window with probes, a
 * keep-alive, FINs; an IPv6 refused connection; an unanswered SYN sent twice) written in every
 * file format and link type the reader supports; plus the corner cases of the verdicts, a
 * connection inside each tunnel kind, and ICMP errors (test/analyze-fixtures-tunnels.ts).
 *
 * Regenerate: npm run build && node dist/test/analyze-fixtures.js test/fixtures/pcap
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildIpTcp, synOptions, wrapLink } from './helpers/craft.js';
import { icmpScenario, tunnelScenario } from './analyze-fixtures-tunnels.js';
import type { FramePacket } from './analyze-fixtures-tunnels.js';
import type { LinkOptions, SegmentSpec } from './helpers/craft.js';
import { TH_ACK, TH_FIN, TH_PUSH, TH_RST, TH_SYN } from '../src/analysis/pcap/decode.js';
import { LinkType } from '../src/model/packet.js';

export interface FixturePacket {
  sec: number;
  nsec: number;
  ip: Buffer;
}

const BASE_SEC = 1_700_000_000;

/** The conversations, in capture order, with their timestamps. */
export function scenario(): FixturePacket[] {
  const out: FixturePacket[] = [];
  let us = 0;
  const at = (deltaUs: number, spec: SegmentSpec): void => {
    us += deltaUs;
    out.push({ sec: BASE_SEC + Math.floor(us / 1e6), nsec: (us % 1e6) * 1000 + 123, ip: buildIpTcp(spec) });
  };
  const c = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 80 };
  const s = { src: '10.0.0.2', dst: '10.0.0.1', sport: 80, dport: 40000 };
  const C = 1000;
  const S = 5000;
  at(0, { ...c, seq: C, ack: 0, flags: TH_SYN, window: 64240, options: synOptions(1460, 7) });
  at(10_000, { ...s, seq: S, ack: C + 1, flags: TH_SYN | TH_ACK, window: 65160, options: synOptions(1400, 7, 2, 1) });
  at(10_000, { ...c, seq: C + 1, ack: S + 1, flags: TH_ACK, window: 502 });
  at(1000, { ...c, seq: C + 1, ack: S + 1, flags: TH_ACK | TH_PUSH, window: 502, payload: 100 });
  at(10_000, { ...s, seq: S + 1, ack: C + 101, flags: TH_ACK, window: 509 });
  at(1000, { ...c, seq: C + 101, ack: S + 1, flags: TH_ACK, window: 502, payload: 100 });
  // C+201 (100 bytes) is not captured: the next segment follows a hole.
  at(100, { ...c, seq: C + 301, ack: S + 1, flags: TH_ACK, window: 502, payload: 100 });
  at(10_000, { ...s, seq: S + 1, ack: C + 201, flags: TH_ACK, window: 509 });
  at(100, { ...s, seq: S + 1, ack: C + 201, flags: TH_ACK, window: 509 });
  at(100, { ...s, seq: S + 1, ack: C + 201, flags: TH_ACK, window: 509 });
  // Two duplicate ACKs, then the missing segment within 20 ms: a fast retransmission.
  at(1000, { ...c, seq: C + 201, ack: S + 1, flags: TH_ACK, window: 502, payload: 100 });
  at(10_000, { ...s, seq: S + 1, ack: C + 401, flags: TH_ACK, window: 509 });
  // Already acknowledged data sent again: a spurious retransmission.
  at(200_000, { ...c, seq: C + 301, ack: S + 1, flags: TH_ACK, window: 502, payload: 100 });
  at(1000, { ...c, seq: C + 401, ack: S + 1, flags: TH_ACK, window: 502, payload: 100 });
  // Not acknowledged, sent again much later: a plain retransmission.
  at(300_000, { ...c, seq: C + 401, ack: S + 1, flags: TH_ACK, window: 502, payload: 100 });
  // The server's window closes; the client probes with one byte; still closed; then it opens.
  at(10_000, { ...s, seq: S + 1, ack: C + 501, flags: TH_ACK, window: 0 });
  at(200_000, { ...c, seq: C + 501, ack: S + 1, flags: TH_ACK, window: 502, payload: 1 });
  at(10_000, { ...s, seq: S + 1, ack: C + 501, flags: TH_ACK, window: 0 });
  at(400_000, { ...s, seq: S + 1, ack: C + 501, flags: TH_ACK, window: 300 });
  // A keep-alive (one byte before the next sequence number, no data) and its ACK.
  at(1_000_000, { ...c, seq: C + 500, ack: S + 1, flags: TH_ACK, window: 502 });
  at(10_000, { ...s, seq: S + 1, ack: C + 501, flags: TH_ACK, window: 300 });
  // A later segment first, then the earlier one within the handshake RTT: out of order.
  at(1000, { ...c, seq: C + 601, ack: S + 1, flags: TH_ACK, window: 502, payload: 100 });
  at(500, { ...c, seq: C + 501, ack: S + 1, flags: TH_ACK, window: 502, payload: 100 });
  at(10_000, { ...s, seq: S + 1, ack: C + 701, flags: TH_ACK, window: 300, payload: 200 });
  at(1000, { ...c, seq: C + 701, ack: S + 201, flags: TH_ACK, window: 502 });
  // Orderly close from the client.
  at(1000, { ...c, seq: C + 701, ack: S + 201, flags: TH_ACK | TH_FIN, window: 502 });
  at(10_000, { ...s, seq: S + 201, ack: C + 702, flags: TH_ACK | TH_FIN, window: 300 });
  at(10_000, { ...c, seq: C + 702, ack: S + 202, flags: TH_ACK, window: 502 });

  // IPv6: a refused connection (SYN answered by RST).
  const c6 = { src: '2001:db8::1', dst: '2001:db8::2', sport: 41000, dport: 8080 };
  at(1000, { ...c6, seq: 777, ack: 0, flags: TH_SYN, window: 64800, options: synOptions(1440, 7) });
  at(50, { src: c6.dst, dst: c6.src, sport: c6.dport, dport: c6.sport, seq: 0, ack: 778, flags: TH_RST | TH_ACK, window: 0 });

  // An unanswered SYN, sent again after the kernel's 1 s initial RTO.
  const c3 = { src: '10.0.0.3', dst: '10.0.0.2', sport: 42000, dport: 443 };
  at(1000, { ...c3, seq: 9, ack: 0, flags: TH_SYN, window: 64240, options: synOptions(1460, 7) });
  at(1_000_000, { ...c3, seq: 9, ack: 0, flags: TH_SYN, window: 64240, options: synOptions(1460, 7) });
  return out;
}

/**
 * Corner cases of Wireshark's rules, one short connection each: verdicts that compete for the
 * same packet (spurious vs out-of-order, fast retransmission vs out-of-order), an ACK of unseen
 * data followed by duplicate ACKs, one-byte keep-alives, probes into a zero window, a RST past
 * the sequence space, a retransmitted FIN, sequence numbers wrapping past 2^32, window updates,
 * a long handshake RTT, time going backwards.
 */
export function edgeScenario(): FixturePacket[] {
  const out: FixturePacket[] = [];
  let us = 0;
  let port = 50000;
  const at = (deltaUs: number, spec: SegmentSpec): void => {
    us += deltaUs;
    out.push({ sec: BASE_SEC + Math.floor(us / 1e6), nsec: (us % 1e6) * 1000, ip: buildIpTcp(spec) });
  };
  /** A fresh connection with a handshake of the given RTT; returns senders for both sides. */
  const open = (isnC: number, isnS: number, rttUs = 100) => {
    const c = { src: '10.1.0.1', dst: '10.1.0.2', sport: port, dport: 80 };
    const s = { src: '10.1.0.2', dst: '10.1.0.1', sport: 80, dport: port };
    port++;
    at(1000, { ...c, seq: isnC, ack: 0, flags: TH_SYN, window: 64240, options: synOptions(1460, 7) });
    at(rttUs / 2, { ...s, seq: isnS, ack: (isnC + 1) >>> 0, flags: TH_SYN | TH_ACK, window: 65160, options: synOptions(1460, 7) });
    at(rttUs / 2, { ...c, seq: (isnC + 1) >>> 0, ack: (isnS + 1) >>> 0, flags: TH_ACK, window: 502 });
    const C = (off: number): number => (isnC + 1 + off) >>> 0;
    const S = (off: number): number => (isnS + 1 + off) >>> 0;
    return {
      c: (d: number, seqOff: number, ackOff: number, flags: number, payload = 0, window = 502) => at(d, { ...c, seq: C(seqOff), ack: S(ackOff), flags, window, payload }),
      s: (d: number, seqOff: number, ackOff: number, flags: number, payload = 0, window = 509) => at(d, { ...s, seq: S(seqOff), ack: C(ackOff), flags, window, payload }),
    };
  };
  const A = TH_ACK;
  // 1. Spurious and out-of-order compete: data already ACKed, resent within the OOO threshold.
  {
    const k = open(1000, 2000);
    k.c(100, 0, 0, A, 100);
    k.c(10, 100, 0, A, 100);
    k.s(50, 0, 200, A);
    k.c(500, 0, 0, A, 100); // already acknowledged, 0.56 ms after the highest segment
  }
  // 2. Fast retransmission and out-of-order compete: 2 dup ACKs, the hole filled at once.
  {
    const k = open(5000, 6000);
    k.c(100, 0, 0, A, 100);
    k.c(10, 200, 0, A, 100); // 100..200 missing
    k.s(20, 0, 100, A);
    k.s(5, 0, 100, A);
    k.s(5, 0, 100, A);
    k.c(5, 100, 0, A, 100);
  }
  // 3. An ACK of data never seen, then duplicates of it.
  {
    const k = open(9000, 9500);
    k.c(100, 0, 0, A, 100);
    k.s(50, 0, 300, A); // acks 200 bytes that were never captured
    k.s(50, 0, 300, A);
    k.s(50, 0, 300, A);
    k.c(100, 300, 0, A, 100);
  }
  // 4. One-byte keep-alives and their ACKs; a window update.
  {
    const k = open(12000, 13000);
    k.c(100, 0, 0, A, 10);
    k.s(50, 0, 10, A);
    k.c(2_000_000, 9, 0, A, 1); // one garbage byte before nextseq
    k.s(50, 0, 10, A);
    k.c(2_000_000, 9, 0, A, 0);
    k.s(50, 0, 10, A, 0, 700); // same ack, new window
  }
  // 5. Zero window, probes (one retransmitted), then data starting one byte early.
  {
    const k = open(15000, 16000);
    k.c(100, 0, 0, A, 100);
    k.s(50, 0, 100, A, 0, 0);
    k.c(200_000, 100, 0, A, 1);
    k.s(50, 0, 100, A, 0, 0);
    k.c(400_000, 100, 0, A, 1);
    k.s(50, 0, 100, A, 0, 0);
    k.s(100_000, 0, 100, A, 0, 400);
    k.c(100, 100, 0, A, 200); // starts at the probed byte, adds new data
  }
  // 6. FIN retransmitted, RST past the sequence space.
  {
    const k = open(18000, 19000);
    k.c(100, 0, 0, A, 50);
    k.c(100, 50, 0, A | TH_FIN);
    k.c(300_000, 50, 0, A | TH_FIN);
    k.s(100, 0, 51, A | TH_RST);
    k.s(10, 5000, 51, TH_RST);
  }
  // 7. Sequence numbers wrapping past 2^32, with a retransmission across the wrap.
  {
    const k = open(4294967000, 4294967200);
    k.c(100, 0, 0, A, 200);
    k.c(10, 200, 0, A, 200);
    k.s(50, 0, 400, A);
    k.c(10, 400, 0, A, 300);
    k.c(500_000, 400, 0, A, 300);
    k.s(50, 500, 700, A, 100);
  }
  // 8. A long handshake RTT (200 ms) widens the out-of-order threshold.
  {
    const k = open(30000, 31000, 200_000);
    k.c(100, 0, 0, A, 100);
    k.c(10, 200, 0, A, 100);
    k.c(50_000, 100, 0, A, 100); // 50 ms later: out of order under a 200 ms iRTT
    k.c(300_000, 300, 0, A, 100);
    k.c(250_000, 300, 0, A, 100); // 250 ms later: a retransmission
  }
  // 9. Time going backwards in the capture.
  {
    const k = open(40000, 41000);
    k.c(100, 0, 0, A, 100);
    k.c(10, 200, 0, A, 100);
    k.c(-5000, 100, 0, A, 100);
    k.s(50, 0, 300, A);
  }
  // 10. Duplicate ACKs for a segment that then arrives late (> 20 ms): a plain retransmission.
  {
    const k = open(50000, 51000);
    k.c(100, 0, 0, A, 100);
    k.c(10, 200, 0, A, 100);
    k.s(20, 0, 100, A);
    k.s(5, 0, 100, A);
    k.s(5, 0, 100, A);
    k.c(50_000, 100, 0, A, 100);
  }
  return out;
}

// ---- pcapng writing (tests only: tcpdiag itself writes pcap) --------------------------------

interface NgInterfaceSpec {
  linkType: number;
  /** if_tsresol byte: 6 = microseconds, 9 = nanoseconds, 0x80|n = 2^-n. */
  tsresol: number;
}

function ngBlock(type: number, body: Buffer, be: boolean): Buffer {
  const padded = Buffer.alloc((body.length + 3) & ~3);
  body.copy(padded);
  const total = 12 + padded.length;
  const b = Buffer.alloc(total);
  const w = (v: number, at: number): void => void (be ? b.writeUInt32BE(v, at) : b.writeUInt32LE(v, at));
  w(type, 0);
  w(total, 4);
  padded.copy(b, 8);
  w(total, total - 4);
  return b;
}

function u16(v: number, be: boolean): Buffer {
  const b = Buffer.alloc(2);
  if (be) b.writeUInt16BE(v);
  else b.writeUInt16LE(v);
  return b;
}

function u32(v: number, be: boolean): Buffer {
  const b = Buffer.alloc(4);
  if (be) b.writeUInt32BE(v >>> 0);
  else b.writeUInt32LE(v >>> 0);
  return b;
}

function option(code: number, value: Buffer, be: boolean): Buffer {
  const padded = Buffer.alloc((value.length + 3) & ~3);
  value.copy(padded);
  return Buffer.concat([u16(code, be), u16(value.length, be), padded]);
}

function sectionHeader(be: boolean): Buffer {
  const body = Buffer.concat([u32(0x1a2b3c4d, be), u16(1, be), u16(0, be), u32(0xffffffff, be), u32(0xffffffff, be),
    option(4, Buffer.from('tcpdiag fixture builder'), be), u32(0, be)]);
  return ngBlock(0x0a0d0d0a, body, be);
}

function interfaceBlock(spec: NgInterfaceSpec, be: boolean): Buffer {
  const body = Buffer.concat([u16(spec.linkType, be), u16(0, be), u32(262144, be), option(9, Buffer.from([spec.tsresol]), be), u32(0, be)]);
  return ngBlock(1, body, be);
}

function timestampUnits(p: FixturePacket, tsresol: number): bigint {
  const perSecond = (tsresol & 0x80) === 0 ? 10n ** BigInt(tsresol) : 2n ** BigInt(tsresol & 0x7f);
  return BigInt(p.sec) * perSecond + (BigInt(p.nsec) * perSecond) / 1_000_000_000n;
}

function enhancedBlock(ifaceId: number, spec: NgInterfaceSpec, p: FixturePacket, frame: Buffer, be: boolean): Buffer {
  const ts = timestampUnits(p, spec.tsresol);
  const body = Buffer.concat([u32(ifaceId, be), u32(Number(ts >> 32n), be), u32(Number(ts & 0xffffffffn), be), u32(frame.length, be), u32(frame.length, be), frame,
    Buffer.alloc((4 - (frame.length % 4)) % 4)]);
  return ngBlock(6, body, be);
}

function simpleBlock(frame: Buffer, be: boolean): Buffer {
  return ngBlock(3, Buffer.concat([u32(frame.length, be), frame]), be);
}

function pcapFile(linkType: number, packets: FixturePacket[], opts: { ns?: boolean; be?: boolean; link?: (i: number) => LinkOptions } = {}): Buffer {
  const be = opts.be === true;
  const parts: Buffer[] = [Buffer.concat([u32(opts.ns === true ? 0xa1b23c4d : 0xa1b2c3d4, be), u16(2, be), u16(4, be), u32(0, be), u32(0, be), u32(262144, be), u32(linkType, be)])];
  packets.forEach((p, i) => {
    const frame = wrapLink(linkType, p.ip, opts.link?.(i) ?? {});
    parts.push(u32(p.sec, be), u32(opts.ns === true ? p.nsec : Math.floor(p.nsec / 1000), be), u32(frame.length, be), u32(frame.length, be), frame);
  });
  return Buffer.concat(parts);
}

/** A classic pcap file of whole Ethernet frames. */
function ethernetPcap(packets: FramePacket[]): Buffer {
  const parts: Buffer[] = [Buffer.concat([u32(0xa1b2c3d4, false), u16(2, false), u16(4, false), u32(0, false), u32(0, false), u32(262144, false), u32(LinkType.ETHERNET, false)])];
  for (const p of packets) parts.push(u32(p.sec, false), u32(Math.floor(p.nsec / 1000), false), u32(p.frame.length, false), u32(p.frame.length, false), p.frame);
  return Buffer.concat(parts);
}

/** Every fixture: file name -> bytes. */
export function buildFixtures(): Map<string, Buffer> {
  const packets = scenario();
  const files = new Map<string, Buffer>();
  // Ethernet, every third frame tagged (one of them twice: QinQ).
  files.set('ethernet-vlan-us-le.pcap', pcapFile(LinkType.ETHERNET, packets, { link: (i) => ({ vlans: i % 3 === 0 ? (i % 2 === 0 ? [100, 200] : [100]) : [] }) }));
  files.set('raw-ns-be.pcap', pcapFile(LinkType.RAW, packets, { ns: true, be: true }));
  files.set('linux-sll-us-be.pcap', pcapFile(LinkType.LINUX_SLL, packets, { be: true, link: (i) => ({ outgoing: i % 2 === 0 }) }));
  files.set('linux-sll2-ns-le.pcap', pcapFile(LinkType.LINUX_SLL2, packets, { ns: true, link: (i) => ({ outgoing: i % 2 === 1 }) }));
  files.set('bsd-null-us-le.pcap', pcapFile(LinkType.NULL, packets, { link: () => ({ af6: 30 }) }));
  files.set('bsd-loop-us-le.pcap', pcapFile(LinkType.LOOP, packets, { link: () => ({ af6: 24 }) }));
  files.set('edge-cases-ns.pcap', pcapFile(LinkType.RAW, edgeScenario(), { ns: true }));
  files.set('tunnels-ethernet-us-le.pcap', ethernetPcap(tunnelScenario()));
  files.set('icmp-errors-us-le.pcap', ethernetPcap(icmpScenario()));

  // pcapng, little-endian: one section, Ethernet (µs) and raw IP (ns) interfaces; EPBs.
  {
    const ifaces: NgInterfaceSpec[] = [{ linkType: LinkType.ETHERNET, tsresol: 6 }, { linkType: LinkType.RAW, tsresol: 9 }];
    const parts = [sectionHeader(false), ...ifaces.map((i) => interfaceBlock(i, false))];
    packets.forEach((p, i) => {
      const id = i % 2;
      const spec = ifaces[id]!;
      parts.push(enhancedBlock(id, spec, p, wrapLink(spec.linkType, p.ip, { vlans: i % 5 === 0 ? [7] : [] }), false));
    });
    files.set('pcapng-two-interfaces.pcapng', Buffer.concat(parts));
  }
  // pcapng with two sections of opposite byte order; the second section has an interface with
  // binary (2^-20) resolution and SLL2 frames.
  {
    const half = Math.floor(packets.length / 2);
    const first = [sectionHeader(false), interfaceBlock({ linkType: LinkType.LINUX_SLL, tsresol: 6 }, false)];
    packets.slice(0, half).forEach((p) => first.push(enhancedBlock(0, { linkType: LinkType.LINUX_SLL, tsresol: 6 }, p, wrapLink(LinkType.LINUX_SLL, p.ip), false)));
    const second = [sectionHeader(true), interfaceBlock({ linkType: LinkType.LINUX_SLL2, tsresol: 0x80 | 20 }, true)];
    packets.slice(half).forEach((p) => second.push(enhancedBlock(0, { linkType: LinkType.LINUX_SLL2, tsresol: 0x80 | 20 }, p, wrapLink(LinkType.LINUX_SLL2, p.ip), true)));
    files.set('pcapng-two-sections-mixed-endian.pcapng', Buffer.concat([...first, ...second]));
  }
  // pcapng with Simple Packet Blocks (no timestamps) on one raw-IP interface.
  {
    const parts = [sectionHeader(false), interfaceBlock({ linkType: LinkType.RAW, tsresol: 6 }, false)];
    for (const p of packets) parts.push(simpleBlock(wrapLink(LinkType.RAW, p.ip), false));
    files.set('pcapng-simple-blocks.pcapng', Buffer.concat(parts));
  }
  return files;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const dir = process.argv[2] ?? 'test/fixtures/pcap';
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of buildFixtures()) writeFileSync(join(dir, name), bytes);
}
