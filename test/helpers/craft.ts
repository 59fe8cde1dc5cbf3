/**
 * Build TCP/IP frames byte by byte: IPv4 (RFC 791) or IPv6 (RFC 8200) with a TCP header
 * (RFC 9293) and correct checksums, wrapped in any link type the reader supports. Used to make
 * the hand-built test fixtures and the benchmark's synthetic captures.
 */
import { ipv4ToBytes, ipv6ToBytes } from '../../src/model/address.js';
import { LinkType } from '../../src/model/packet.js';

export interface SegmentSpec {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  /** TH_* bits. */
  flags: number;
  window: number;
  /** Payload bytes, or a length to fill with 'x'. */
  payload?: Uint8Array | number;
  /** Raw TCP options (padded to 4 bytes here). */
  options?: Uint8Array;
}

/** MSS, SACK-permitted, timestamps and window scale, the way Linux orders them in a SYN. */
export function synOptions(mss: number, windowScale: number, tsVal = 1, tsEcr = 0): Uint8Array {
  const o = Buffer.alloc(20);
  o.writeUInt8(2, 0); o.writeUInt8(4, 1); o.writeUInt16BE(mss, 2);
  o.writeUInt8(4, 4); o.writeUInt8(2, 5);
  o.writeUInt8(8, 6); o.writeUInt8(10, 7); o.writeUInt32BE(tsVal >>> 0, 8); o.writeUInt32BE(tsEcr >>> 0, 12);
  o.writeUInt8(1, 16);
  o.writeUInt8(3, 17); o.writeUInt8(3, 18); o.writeUInt8(windowScale, 19);
  return o;
}

function onesComplementSum(data: Uint8Array, start: number, end: number, initial: number): number {
  let sum = initial;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (data[i]! << 8) | data[i + 1]!;
  if (i < end) sum += data[i]! << 8;
  return sum;
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 65536);
  return ~sum & 0xffff;
}

/** One IP packet carrying one TCP segment. */
export function buildIpTcp(spec: SegmentSpec): Buffer {
  const v6 = spec.src.includes(':');
  const payload = typeof spec.payload === 'number' ? Buffer.alloc(spec.payload, 0x78) : Buffer.from(spec.payload ?? []);
  const rawOpts = spec.options ?? new Uint8Array(0);
  const optLen = (rawOpts.length + 3) & ~3;
  const tcpLen = 20 + optLen + payload.length;
  const ipHeader = v6 ? 40 : 20;
  const pkt = Buffer.alloc(ipHeader + tcpLen);
  const src = v6 ? ipv6ToBytes(spec.src) : ipv4ToBytes(spec.src);
  const dst = v6 ? ipv6ToBytes(spec.dst) : ipv4ToBytes(spec.dst);
  if (v6) {
    pkt.writeUInt32BE(0x60000000, 0);
    pkt.writeUInt16BE(tcpLen, 4);
    pkt[6] = 6;
    pkt[7] = 64;
    pkt.set(src, 8);
    pkt.set(dst, 24);
  } else {
    pkt[0] = 0x45;
    pkt.writeUInt16BE(20 + tcpLen, 2);
    pkt.writeUInt16BE(0x4000, 6); // DF
    pkt[8] = 64;
    pkt[9] = 6;
    pkt.set(src, 12);
    pkt.set(dst, 16);
    pkt.writeUInt16BE(fold(onesComplementSum(pkt, 0, 20, 0)), 10);
  }
  const t = ipHeader;
  pkt.writeUInt16BE(spec.sport, t);
  pkt.writeUInt16BE(spec.dport, t + 2);
  pkt.writeUInt32BE(spec.seq >>> 0, t + 4);
  pkt.writeUInt32BE(spec.ack >>> 0, t + 8);
  pkt[t + 12] = (((20 + optLen) / 4) << 4) | ((spec.flags >> 8) & 1);
  pkt[t + 13] = spec.flags & 0xff;
  pkt.writeUInt16BE(spec.window, t + 14);
  pkt.set(rawOpts, t + 20);
  for (let i = rawOpts.length; i < optLen; i++) pkt[t + 20 + i] = 1; // NOP padding
  pkt.set(payload, t + 20 + optLen);
  // Pseudo-header checksum (RFC 9293 3.1; RFC 8200 8.1 for IPv6).
  let sum = onesComplementSum(src, 0, src.length, 0);
  sum = onesComplementSum(dst, 0, dst.length, sum);
  sum += 6 + tcpLen;
  sum = onesComplementSum(pkt, t, pkt.length, sum);
  pkt.writeUInt16BE(fold(sum), t + 16);
  return pkt;
}

export interface LinkOptions {
  /** 802.1Q VLAN ids to stack in front of the EtherType (Ethernet only). */
  vlans?: number[];
  /** Linux cooked capture packet type: 0 to us, 4 outgoing. */
  outgoing?: boolean;
  /** For NULL/LOOP: the AF_INET6 value the capturing OS used (Linux 10, BSDs 24/28/30). */
  af6?: number;
  /** For NULL: write the family big-endian (a big-endian capture host). */
  nullBigEndian?: boolean;
}

/** Put a link-layer header in front of an IP packet. */
export function wrapLink(linkType: number, ip: Buffer, options: LinkOptions = {}): Buffer {
  const v6 = ip[0]! >> 4 === 6;
  const etherType = v6 ? 0x86dd : 0x0800;
  switch (linkType) {
    case LinkType.ETHERNET:
      return ethernetFrame(etherType, ip, options.vlans ?? []);
    case LinkType.RAW:
    case LinkType.IPV4:
    case LinkType.IPV6:
      return ip;
    case LinkType.LINUX_SLL: {
      const h = Buffer.alloc(16);
      h.writeUInt16BE(options.outgoing === true ? 4 : 0, 0);
      h.writeUInt16BE(772, 2); // ARPHRD_LOOPBACK
      h.writeUInt16BE(6, 4);
      h.writeUInt16BE(etherType, 14);
      return Buffer.concat([h, ip]);
    }
    case LinkType.LINUX_SLL2: {
      const h = Buffer.alloc(20);
      h.writeUInt16BE(etherType, 0);
      h.writeUInt32BE(1, 4); // ifindex of lo
      h.writeUInt16BE(772, 8);
      h[10] = options.outgoing === true ? 4 : 0;
      h[11] = 6;
      return Buffer.concat([h, ip]);
    }
    case LinkType.NULL:
    case LinkType.LOOP: {
      const h = Buffer.alloc(4);
      const family = v6 ? (options.af6 ?? 30) : 2;
      if (linkType === LinkType.LOOP || options.nullBigEndian === true) h.writeUInt32BE(family, 0);
      else h.writeUInt32LE(family, 0);
      return Buffer.concat([h, ip]);
    }
    default:
      throw new RangeError(`cannot build frames for link type ${linkType}`);
  }
}

// ---- tunnels and ICMP errors ---------------------------------------------------------------

/** One IP packet (IPv4 with a header checksum, or IPv6) around `payload` of protocol `proto`. */
export function buildIp(src: string, dst: string, proto: number, payload: Uint8Array, ttl = 64): Buffer {
  const v6 = src.includes(':');
  const body = Buffer.from(payload);
  if (v6) {
    const h = Buffer.alloc(40);
    h.writeUInt32BE(0x60000000, 0);
    h.writeUInt16BE(body.length, 4);
    h[6] = proto;
    h[7] = ttl;
    h.set(ipv6ToBytes(src), 8);
    h.set(ipv6ToBytes(dst), 24);
    return Buffer.concat([h, body]);
  }
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + body.length, 2);
  h[8] = ttl;
  h[9] = proto;
  h.set(ipv4ToBytes(src), 12);
  h.set(ipv4ToBytes(dst), 16);
  h.writeUInt16BE(fold(onesComplementSum(h, 0, 20, 0)), 10);
  return Buffer.concat([h, body]);
}

/** A UDP datagram in IP (checksum 0 over IPv4, where RFC 768 allows it; computed over IPv6). */
export function buildUdp(src: string, dst: string, sport: number, dport: number, payload: Uint8Array): Buffer {
  const u = Buffer.alloc(8 + payload.length);
  u.writeUInt16BE(sport, 0);
  u.writeUInt16BE(dport, 2);
  u.writeUInt16BE(u.length, 4);
  u.set(payload, 8);
  if (src.includes(':')) {
    let sum = onesComplementSum(ipv6ToBytes(src), 0, 16, 0);
    sum = onesComplementSum(ipv6ToBytes(dst), 0, 16, sum);
    sum += 17 + u.length;
    sum = onesComplementSum(u, 0, u.length, sum);
    u.writeUInt16BE(fold(sum) || 0xffff, 6);
  }
  return buildIp(src, dst, 17, u);
}

/** An Ethernet II frame: EtherType (after optional 802.1Q tags) and payload. */
export function ethernetFrame(etherType: number, payload: Uint8Array, vlans: number[] = []): Buffer {
  const h = Buffer.alloc(14 + 4 * vlans.length);
  h.set([0x02, 0, 0, 0, 0, 2], 0);
  h.set([0x02, 0, 0, 0, 0, 1], 6);
  let at = 12;
  for (const id of vlans) {
    h.writeUInt16BE(0x8100, at);
    h.writeUInt16BE(id & 0x0fff, at + 2);
    at += 4;
  }
  h.writeUInt16BE(etherType, at);
  return Buffer.concat([h, payload]);
}

/** An Ethernet frame around an IP packet. */
export function ethernetIp(ip: Buffer): Buffer {
  return ethernetFrame(ip[0]! >> 4 === 6 ? 0x86dd : 0x0800, ip);
}

/** An MPLS label stack (RFC 3032) in front of `payload`; the last label has the bottom-of-stack bit. */
export function mplsStack(labels: number[], payload: Uint8Array): Buffer {
  const s = Buffer.alloc(4 * labels.length);
  labels.forEach((label, i) => s.writeUInt32BE(((label & 0xfffff) << 12) | (i === labels.length - 1 ? 0x100 : 0) | 64, i * 4));
  return Buffer.concat([s, payload]);
}

/** A PPPoE session-stage header (RFC 2516) and the PPP protocol field in front of an IP packet. */
export function pppoeSession(ip: Buffer, session = 0x1234): Buffer {
  const h = Buffer.alloc(8);
  h[0] = 0x11;
  h.writeUInt16BE(session, 2);
  h.writeUInt16BE(ip.length + 2, 4);
  h.writeUInt16BE(ip[0]! >> 4 === 6 ? 0x0057 : 0x0021, 6);
  return Buffer.concat([h, ip]);
}

/** What follows EtherType 0x88E7 (802.1ah): the I-TAG, then the customer frame (its MACs, EtherType, payload). */
export function pbbPayload(isid: number, customerFrame: Buffer): Buffer {
  const t = Buffer.alloc(4);
  t.writeUInt32BE(isid & 0xffffff, 0);
  return Buffer.concat([t, customerFrame]);
}

export interface GreOptions {
  key?: number;
  sequence?: number;
  checksum?: boolean;
}

/** A GRE header (RFC 2784/2890) carrying `proto` in an outer IP packet. */
export function buildGre(src: string, dst: string, proto: number, payload: Uint8Array, o: GreOptions = {}): Buffer {
  const parts: Buffer[] = [];
  const h = Buffer.alloc(4);
  h[0] = (o.checksum === true ? 0x80 : 0) | (o.key !== undefined ? 0x20 : 0) | (o.sequence !== undefined ? 0x10 : 0);
  h.writeUInt16BE(proto, 2);
  parts.push(h);
  if (o.checksum === true) parts.push(Buffer.alloc(4));
  if (o.key !== undefined) {
    const k = Buffer.alloc(4);
    k.writeUInt32BE(o.key >>> 0, 0);
    parts.push(k);
  }
  if (o.sequence !== undefined) {
    const s = Buffer.alloc(4);
    s.writeUInt32BE(o.sequence >>> 0, 0);
    parts.push(s);
  }
  parts.push(Buffer.from(payload));
  const gre = Buffer.concat(parts);
  if (o.checksum === true) gre.writeUInt16BE(fold(onesComplementSum(gre, 0, gre.length, 0)), 4);
  return buildIp(src, dst, 47, gre);
}

/** An ERSPAN type II header (version 1, VLAN 0, session id, index) in front of a mirrored frame. */
export function erspan2(frame: Buffer, session = 7): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x1000, 0); // version 1, VLAN 0
  h.writeUInt16BE(session & 0x3ff, 2);
  h.writeUInt32BE(1, 4);
  return Buffer.concat([h, frame]);
}

/** A VXLAN header (RFC 7348, I flag and a VNI) in front of an Ethernet frame. */
export function vxlan(frame: Buffer, vni = 42): Buffer {
  const h = Buffer.alloc(8);
  h[0] = 0x08;
  h.writeUInt32BE((vni & 0xffffff) << 8, 4);
  return Buffer.concat([h, frame]);
}

/** A GENEVE header (RFC 8926) with `optionWords` 4-byte words of options, protocol 0x6558 (Ethernet). */
export function geneve(frame: Buffer, vni = 42, optionWords = 0): Buffer {
  const h = Buffer.alloc(8 + optionWords * 4);
  h[0] = optionWords & 0x3f;
  h.writeUInt16BE(0x6558, 2);
  h.writeUInt32BE((vni & 0xffffff) << 8, 4);
  for (let i = 0; i < optionWords; i++) {
    // One option per word: class 0x0101, type 1, length 0 (no data), so every word is a whole option.
    h.writeUInt16BE(0x0101, 8 + i * 4);
    h[10 + i * 4] = 1;
  }
  return Buffer.concat([h, frame]);
}

/** Teredo's UDP payload (RFC 4380): an optional origin indication, then the IPv6 packet. */
export function teredo(ipv6: Buffer, origin = false): Buffer {
  if (!origin) return ipv6;
  const o = Buffer.alloc(8);
  o.writeUInt16BE(0, 0);
  o.writeUInt16BE(0xffff ^ 40000, 2);
  o.set([0xff ^ 192, 0xff ^ 0, 0xff ^ 2, 0xff ^ 1], 4);
  return Buffer.concat([o, ipv6]);
}

/**
 * An ICMP error (RFC 792) or ICMPv6 error (RFC 4443) from `src` to `dst` quoting `quoted` (an IP
 * packet, cut to `quoteBytes`); `mtu` fills the next-hop MTU (frag needed) or the MTU (packet too big).
 */
export function buildIcmpError(src: string, dst: string, type: number, code: number, quoted: Buffer, o: { mtu?: number; quoteBytes?: number } = {}): Buffer {
  const v6 = src.includes(':');
  const quote = quoted.subarray(0, o.quoteBytes ?? (v6 ? 1232 : 28));
  const m = Buffer.alloc(8 + quote.length);
  m[0] = type;
  m[1] = code;
  if (o.mtu !== undefined) {
    if (v6) m.writeUInt32BE(o.mtu, 4);
    else m.writeUInt16BE(o.mtu, 6);
  }
  m.set(quote, 8);
  if (v6) {
    let sum = onesComplementSum(ipv6ToBytes(src), 0, 16, 0);
    sum = onesComplementSum(ipv6ToBytes(dst), 0, 16, sum);
    sum += 58 + m.length;
    sum = onesComplementSum(m, 0, m.length, sum);
    m.writeUInt16BE(fold(sum), 2);
    return buildIp(src, dst, 58, m);
  }
  m.writeUInt16BE(fold(onesComplementSum(m, 0, m.length, 0)), 2);
  return buildIp(src, dst, 1, m);
}
