/**
 * Link layer -> IPv4/IPv6 -> TCP header decode over a borrowed buffer, into one reusable object
 * (no allocation per packet on the hot path). Anything that is not an unfragmented TCP segment
 * with a sane header comes back as `false`, so the analyser skips it as Wireshark's TCP
 * sequence analysis does.
 */
import { LinkType } from '../../model/packet.js';

export const TH_FIN = 0x01;
export const TH_SYN = 0x02;
export const TH_RST = 0x04;
export const TH_PUSH = 0x08;
export const TH_ACK = 0x10;
export const TH_URG = 0x20;
export const TH_ECE = 0x40;
export const TH_CWR = 0x80;

export interface DecodedTcp {
  family: 4 | 6;
  /** IPv4 addresses as unsigned 32-bit numbers; IPv6 as 32-char hex (also set for IPv4: ''). */
  src4: number;
  dst4: number;
  src6: string;
  dst6: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** The 12 flag bits (NS, CWR, ECE, URG, ACK, PSH, RST, SYN, FIN). */
  flags: number;
  /** Raw 16-bit window field (unscaled, as Wireshark's analysis compares it). */
  window: number;
  headerLen: number;
  /** Payload bytes by the IP length (not the snaplen), as Wireshark's tcp.len. */
  seglen: number;
  /** Offset of the TCP header and of the payload in the frame buffer; captured payload bytes. */
  tcpOffset: number;
  payloadOffset: number;
  payloadCaptured: number;
  /** Bytes of the IP packet (header + payload) by its length field. */
  ipLen: number;
  /** Parsed only for SYN segments (options are what the handshake negotiates). */
  mss: number;
  windowScale: number;
  sackPermitted: boolean;
  timestamps: boolean;
}

export function newDecodedTcp(): DecodedTcp {
  return {
    family: 4, src4: 0, dst4: 0, src6: '', dst6: '', srcPort: 0, dstPort: 0, seq: 0, ack: 0, flags: 0, window: 0,
    headerLen: 0, seglen: 0, tcpOffset: 0, payloadOffset: 0, payloadCaptured: 0, ipLen: 0,
    mss: -1, windowScale: -1, sackPermitted: false, timestamps: false,
  };
}

export type DecodeResult = 'tcp' | 'ip' | 'other';

/**
 * Decode one frame. Returns 'tcp' when `out` holds a TCP segment to analyse, 'ip' for other IP
 * traffic (or TCP that cannot be analysed: fragments, bogus header length), 'other' otherwise.
 */
export function decodeFrame(linkType: number, buf: Buffer, offset: number, capLen: number, origLen: number, out: DecodedTcp): DecodeResult {
  const end = offset + capLen;
  let pos = offset;
  let etherType = -1;
  switch (linkType) {
    case LinkType.ETHERNET: {
      if (capLen < 14) return 'other';
      etherType = (buf[pos + 12]! << 8) | buf[pos + 13]!;
      pos += 14;
      // 802.1Q / 802.1ad / QinQ tags: 4 bytes each, then the real EtherType.
      while ((etherType === 0x8100 || etherType === 0x88a8 || etherType === 0x9100) && end - pos >= 4) {
        etherType = (buf[pos + 2]! << 8) | buf[pos + 3]!;
        pos += 4;
      }
      break;
    }
    case LinkType.RAW:
    case LinkType.RAW_OPENBSD:
    case LinkType.RAW_BSDOS:
    case LinkType.IPV4:
    case LinkType.IPV6:
      if (capLen < 1) return 'other';
      etherType = buf[pos]! >> 4 === 6 ? 0x86dd : buf[pos]! >> 4 === 4 ? 0x0800 : -1;
      break;
    case LinkType.LINUX_SLL:
      // struct sll_header: packet type, ARPHRD, address length, 8 address bytes, protocol (16 bytes).
      if (capLen < 16) return 'other';
      etherType = (buf[pos + 14]! << 8) | buf[pos + 15]!;
      pos += 16;
      break;
    case LinkType.LINUX_SLL2:
      // struct sll2_header: protocol first, then reserved, ifindex, ARPHRD, type, addr (20 bytes).
      if (capLen < 20) return 'other';
      etherType = (buf[pos]! << 8) | buf[pos + 1]!;
      pos += 20;
      break;
    case LinkType.NULL:
    case LinkType.LOOP: {
      if (capLen < 4) return 'other';
      // The family is in the capturing host's byte order for NULL; accept either order.
      let family = buf.readUInt32LE(pos);
      if (family > 0xffff) family = buf.readUInt32BE(pos);
      pos += 4;
      // AF_INET is 2 everywhere; AF_INET6 is 10 (Linux), 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS).
      etherType = family === 2 ? 0x0800 : family === 10 || family === 24 || family === 28 || family === 30 ? 0x86dd : -1;
      break;
    }
    default:
      return 'other';
  }
  // Bytes of the IP packet on the wire (the frame's original length, not the captured part):
  // an IP length field claiming more is cut to it, as Wireshark's IP dissector does.
  const onWire = origLen - (pos - offset);
  if (etherType === 0x0800) return decodeIpv4(buf, pos, end, onWire, out);
  if (etherType === 0x86dd) return decodeIpv6(buf, pos, end, onWire, out);
  return 'other';
}

function decodeIpv4(buf: Buffer, pos: number, end: number, onWire: number, out: DecodedTcp): DecodeResult {
  if (end - pos < 20 || buf[pos]! >> 4 !== 4) return 'other';
  const ihl = (buf[pos]! & 0x0f) * 4;
  if (ihl < 20) return 'other';
  let totalLen = (buf[pos + 2]! << 8) | buf[pos + 3]!;
  // TSO captures carry a zero total length; use what the frame holds (Wireshark does the same).
  if (totalLen === 0) totalLen = onWire;
  if (totalLen > onWire) totalLen = onWire;
  if (totalLen < ihl) return 'other';
  const fragment = ((buf[pos + 6]! << 8) | buf[pos + 7]!) & 0x3fff; // MF flag + offset
  if (buf[pos + 9] !== 6) return 'ip';
  if (fragment !== 0) return 'ip';
  if (end - pos < ihl) return 'ip';
  out.family = 4;
  out.src4 = buf.readUInt32BE(pos + 12);
  out.dst4 = buf.readUInt32BE(pos + 16);
  out.src6 = '';
  out.dst6 = '';
  out.ipLen = totalLen;
  return decodeTcp(buf, pos + ihl, end, totalLen - ihl, out);
}

function decodeIpv6(buf: Buffer, pos: number, end: number, onWire: number, out: DecodedTcp): DecodeResult {
  if (end - pos < 40 || buf[pos]! >> 4 !== 6) return 'other';
  const payloadLen = Math.min((buf[pos + 4]! << 8) | buf[pos + 5]!, onWire - 40);
  let next = buf[pos + 6]!;
  const ipStart = pos;
  pos += 40;
  let remaining = payloadLen;
  // Walk extension headers: hop-by-hop (0), routing (43), fragment (44), AH (51), dest opts (60).
  for (let hops = 0; hops < 8 && next !== 6; hops++) {
    if (next === 0 || next === 43 || next === 60 || next === 51) {
      if (end - pos < 8) return 'ip';
      const len = next === 51 ? (buf[pos + 1]! + 2) * 4 : (buf[pos + 1]! + 1) * 8;
      next = buf[pos]!;
      pos += len;
      remaining -= len;
    } else if (next === 44) {
      if (end - pos < 8) return 'ip';
      const frag = (buf[pos + 2]! << 8) | buf[pos + 3]!;
      if ((frag & 0xfff9) !== 0) return 'ip'; // an offset or more fragments: not reassembled here
      next = buf[pos]!;
      pos += 8;
      remaining -= 8;
    } else {
      return 'ip';
    }
  }
  if (next !== 6 || remaining < 0 || pos > end) return 'ip';
  out.family = 6;
  out.src4 = 0;
  out.dst4 = 0;
  out.src6 = buf.toString('hex', ipStart + 8, ipStart + 24);
  out.dst6 = buf.toString('hex', ipStart + 24, ipStart + 40);
  out.ipLen = payloadLen + 40;
  return decodeTcp(buf, pos, end, remaining, out);
}

function decodeTcp(buf: Buffer, pos: number, end: number, tcpLen: number, out: DecodedTcp): DecodeResult {
  // Wireshark needs the 20-byte fixed header in the capture to dissect TCP at all.
  if (end - pos < 20) return 'ip';
  const headerLen = (buf[pos + 12]! >> 4) * 4;
  // A segment shorter than its header length is not analysed ("short segment"). A header
  // length under 20 ("bogus TCP header length") still is: tshark 4.0 runs the sequence analysis
  // with length = IP payload - header length before it gives up on the header.
  if (tcpLen < headerLen) return 'ip';
  out.srcPort = (buf[pos]! << 8) | buf[pos + 1]!;
  out.dstPort = (buf[pos + 2]! << 8) | buf[pos + 3]!;
  out.seq = buf.readUInt32BE(pos + 4);
  out.ack = buf.readUInt32BE(pos + 8);
  out.flags = ((buf[pos + 12]! & 0x01) << 8) | buf[pos + 13]!;
  out.window = (buf[pos + 14]! << 8) | buf[pos + 15]!;
  out.headerLen = headerLen;
  out.seglen = tcpLen - headerLen;
  out.tcpOffset = pos;
  out.payloadOffset = pos + headerLen;
  // With a bogus header length the "payload" overlaps the header: never hand it out.
  out.payloadCaptured = headerLen < 20 ? 0 : Math.max(0, Math.min(out.seglen, end - pos - headerLen));
  out.mss = -1;
  out.windowScale = -1;
  out.sackPermitted = false;
  out.timestamps = false;
  if ((out.flags & TH_SYN) !== 0 && headerLen > 20) parseOptions(buf, pos + 20, Math.min(pos + headerLen, end), out);
  return 'tcp';
}

/** TCP options (RFC 9293 3.1): MSS (2), window scale (3, RFC 7323), SACK-permitted (4), timestamps (8). */
function parseOptions(buf: Buffer, pos: number, end: number, out: DecodedTcp): void {
  while (pos < end) {
    const kind = buf[pos]!;
    if (kind === 0) return;
    if (kind === 1) {
      pos++;
      continue;
    }
    if (pos + 1 >= end) return;
    const len = buf[pos + 1]!;
    if (len < 2 || pos + len > end) return;
    if (kind === 2 && len === 4) out.mss = (buf[pos + 2]! << 8) | buf[pos + 3]!;
    else if (kind === 3 && len === 3) out.windowScale = Math.min(buf[pos + 2]!, 14);
    else if (kind === 4 && len === 2) out.sackPermitted = true;
    else if (kind === 8 && len === 10) out.timestamps = true;
    pos += len;
  }
}
