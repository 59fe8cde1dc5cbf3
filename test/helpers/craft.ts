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
    case LinkType.ETHERNET: {
      const vlans = options.vlans ?? [];
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
      return Buffer.concat([h, ip]);
    }
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
