/**
 * Builds the hand-made capture fixtures in test/fixtures/pcap/: the same small set of TCP
 * conversations (a handshake with options, loss, duplicate ACKs, a fast retransmission, a
 * spurious and a plain retransmission, out-of-order data, a zero window with probes, a
 * keep-alive, FINs; an IPv6 refused connection; an unanswered SYN sent twice) written in every
 * file format and link type the reader supports.
 *
 * Regenerate: npm run build && node dist/test/analyze-fixtures.js test/fixtures/pcap
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildIpTcp, synOptions, wrapLink } from '../src/sources/pcap/craft.js';
import type { LinkOptions, SegmentSpec } from '../src/sources/pcap/craft.js';
import { TH_ACK, TH_FIN, TH_PUSH, TH_RST, TH_SYN } from '../src/sources/pcap/decode.js';
import { LinkType } from '../src/sources/pcap/types.js';

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
