/**
 * Link layer -> (tunnels) -> IPv4/IPv6 -> TCP header decode over a borrowed buffer, into one
 * reusable object (no allocation per packet on the hot path, IPv6 address text aside).
 *
 * What comes back:
 * - 'tcp': `out` holds a TCP segment (of the innermost IP packet when tunnelled; `encap` says
 *   through what). A header length under 20 (`headerLen < 20`) or past the segment
 *   (`shortHeader`) is still a segment, because tshark still shows its flags; the analyser
 *   decides what of it to use.
 * - 'icmp': `out` holds the TCP segment quoted by an ICMP/ICMPv6 error (addresses and ports of
 *   the quoted segment, so src is the host that sent it) and the error's type, code and MTU.
 * - 'ip': other IP traffic, fragments, or TCP too short to read; 'other': not IP.
 *
 * Encapsulations follow the Wireshark dissectors' defaults: 802.1Q/802.1ad tags, MPLS (RFC
 * 3032, IP payloads), PPPoE sessions (RFC 2516), 802.1ah (PBB), IP-in-IP and 6in4/4in6/6in6 (RFC 2003, 4213,
 * 2473), GRE (RFC 2784, 2890) with IP, Ethernet (0x6558), MPLS or ERSPAN I/II/III payloads,
 * VXLAN on UDP 4789 (RFC 7348), GENEVE on UDP 6081 (RFC 8926), Teredo on UDP 3544 (RFC 4380),
 * GTP-U on UDP 2152, GRE-in-UDP on UDP 4754 (RFC 8086), AYIYA on UDP 5072, and VN-Tag.
 */
import { Encap, LinkType } from '../../model/packet.js';
import { decodeIcmp4, decodeIcmp6 } from './decode-icmp.js';
import { TH_SYN } from './segment.js';
import type { DecodedTcp } from './segment.js';

export { newDecodedTcp, TH_ACK, TH_CWR, TH_ECE, TH_FIN, TH_PUSH, TH_RST, TH_SYN, TH_URG } from './segment.js';
export type { DecodedTcp } from './segment.js';

export type DecodeResult = 'tcp' | 'icmp' | 'ip' | 'other';

/** Tunnels inside tunnels beyond this depth are not followed (each layer costs bytes, so this only bounds work). */
const MAX_DEPTH = 8;

/** End of the frame on the wire, in buffer coordinates (set per frame; decoding is synchronous). */
let frameWireEnd = 0;

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;

/**
 * Decode one frame. `origLen` is the frame's length on the wire: an IP length field claiming
 * more is cut to it, as Wireshark's IP dissector does.
 */
export function decodeFrame(linkType: number, buf: Buffer, offset: number, capLen: number, origLen: number, out: DecodedTcp): DecodeResult {
  out.encap = 0;
  const end = offset + capLen;
  const wireEnd = offset + origLen;
  frameWireEnd = wireEnd;
  let pos = offset;
  let etherType: number;
  switch (linkType) {
    case LinkType.ETHERNET:
      if (capLen < 14) return 'other';
      etherType = (buf[pos + 12]! << 8) | buf[pos + 13]!;
      pos += 14;
      // The common case first, without the tag and tunnel loop.
      if (etherType === ETH_IPV4) return decodeIpv4(buf, pos, end, wireEnd, out, 0);
      break;
    case LinkType.RAW:
    case LinkType.RAW_OPENBSD:
    case LinkType.RAW_BSDOS:
      if (capLen < 1) return 'other';
      etherType = buf[pos]! >> 4 === 6 ? ETH_IPV6 : buf[pos]! >> 4 === 4 ? ETH_IPV4 : -1;
      break;
    // These two carry one version each; a packet of the other version is bogus (Wireshark).
    case LinkType.IPV4:
      etherType = ETH_IPV4;
      break;
    case LinkType.IPV6:
      etherType = ETH_IPV6;
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
      etherType = family === 2 ? ETH_IPV4 : family === 10 || family === 24 || family === 28 || family === 30 ? ETH_IPV6 : -1;
      break;
    }
    default:
      return 'other';
  }
  return decodeEtherType(buf, pos, end, wireEnd, etherType, out, 0);
}

/** An Ethernet II frame (14-byte header) at `pos`. */
function decodeEthernet(buf: Buffer, pos: number, end: number, wireEnd: number, out: DecodedTcp, depth: number): DecodeResult {
  if (end - pos < 14) return depth === 0 ? 'other' : 'ip';
  return decodeEtherType(buf, pos + 14, end, wireEnd, (buf[pos + 12]! << 8) | buf[pos + 13]!, out, depth);
}

/** What follows an EtherType: tags and label stacks are peeled in a loop, then IP. */
function decodeEtherType(buf: Buffer, pos: number, end: number, wireEnd: number, etherType: number, out: DecodedTcp, depth: number): DecodeResult {
  for (;;) {
    switch (etherType) {
      case ETH_IPV4:
        return decodeIpv4(buf, pos, end, wireEnd, out, depth);
      case ETH_IPV6:
        return decodeIpv6(buf, pos, end, wireEnd, out, depth);
      case 0x8100: // 802.1Q
      case 0x88a8: // 802.1ad
      case 0x9100: // QinQ (pre-standard)
        if (end - pos < 4) return 'other';
        etherType = (buf[pos + 2]! << 8) | buf[pos + 3]!;
        pos += 4;
        continue;
      case 0x8926: // VN-Tag (Cisco): a 4-byte tag, then the EtherType
        if (end - pos < 6) return 'other';
        etherType = (buf[pos + 4]! << 8) | buf[pos + 5]!;
        pos += 6;
        continue;
      case 0x8847: // MPLS unicast
      case 0x8848: // MPLS multicast
        return decodeMpls(buf, pos, end, wireEnd, out, depth);
      case 0x8864: {
        // PPPoE session stage (RFC 2516): ver/type, code, session id, length, then the PPP protocol.
        if (end - pos < 8 || depth >= MAX_DEPTH) return 'other';
        const ppp = (buf[pos + 6]! << 8) | buf[pos + 7]!;
        const len = (buf[pos + 4]! << 8) | buf[pos + 5]!;
        out.encap |= Encap.PPPOE;
        if (pos + 6 + len < wireEnd) wireEnd = pos + 6 + len;
        pos += 8;
        depth++;
        if (ppp === 0x0021) etherType = ETH_IPV4;
        else if (ppp === 0x0057) etherType = ETH_IPV6;
        else return 'other';
        continue;
      }
      case 0x88e7:
        // 802.1ah: a 4-byte I-TAG (priority, flags, I-SID), then the customer's MAC addresses
        // and EtherType.
        if (end - pos < 18 || depth >= MAX_DEPTH) return 'other';
        out.encap |= Encap.PBB;
        etherType = (buf[pos + 16]! << 8) | buf[pos + 17]!;
        pos += 18;
        depth++;
        continue;
      default:
        return depth === 0 ? 'other' : 'ip';
    }
  }
}

/** An MPLS label stack (RFC 3032): 4 bytes per label to the bottom-of-stack bit, then by the first nibble. */
function decodeMpls(buf: Buffer, pos: number, end: number, wireEnd: number, out: DecodedTcp, depth: number): DecodeResult {
  if (depth >= MAX_DEPTH) return 'other';
  out.encap |= Encap.MPLS;
  for (;;) {
    if (end - pos < 4) return 'other';
    const bottom = (buf[pos + 2]! & 0x01) !== 0;
    pos += 4;
    if (bottom) break;
  }
  if (end - pos < 1) return 'other';
  const nibble = buf[pos]! >> 4;
  if (nibble === 4) return decodeIpv4(buf, pos, end, wireEnd, out, depth + 1);
  if (nibble === 6) return decodeIpv6(buf, pos, end, wireEnd, out, depth + 1);
  // Anything else (a pseudowire's Ethernet frame) Wireshark decodes only by a heuristic that
  // does not always guess right (packet-pw-eth.c); not followed here.
  return 'other';
}

function decodeIpv4(buf: Buffer, pos: number, end: number, wireEnd: number, out: DecodedTcp, depth: number): DecodeResult {
  if (end - pos < 20 || buf[pos]! >> 4 !== 4) return depth === 0 ? 'other' : 'ip';
  const ihl = (buf[pos]! & 0x0f) * 4;
  if (ihl < 20) return depth === 0 ? 'other' : 'ip';
  const onWire = wireEnd - pos;
  const claimed = (buf[pos + 2]! << 8) | buf[pos + 3]!;
  let totalLen = claimed;
  // TSO captures carry a zero total length; use what the frame holds (Wireshark does the same).
  if (totalLen === 0) totalLen = onWire;
  if (totalLen > onWire) totalLen = onWire;
  if (totalLen < ihl) return depth === 0 ? 'other' : 'ip';
  const fragment = ((buf[pos + 6]! << 8) | buf[pos + 7]!) & 0x3fff; // MF flag + offset
  if (fragment !== 0) return 'ip';
  if (end - pos < ihl) return 'ip';
  const proto = buf[pos + 9]!;
  const payload = pos + ihl;
  const payloadEnd = pos + totalLen;
  switch (proto) {
    case 6:
      out.family = 4;
      out.src4 = buf.readUInt32BE(pos + 12);
      out.dst4 = buf.readUInt32BE(pos + 16);
      out.src6 = '';
      out.dst6 = '';
      out.ipLen = totalLen;
      out.tcpClaimed = claimed === 0 ? totalLen - ihl : claimed - ihl;
      out.ipOverclaim = pos + claimed > frameWireEnd;
      return decodeTcp(buf, payload, end, totalLen - ihl, out);
    case 1:
      return decodeIcmp4(buf, payload, end, payloadEnd, buf.readUInt32BE(pos + 12), buf.readUInt32BE(pos + 16), out);
    default:
      return decodeIpPayload(buf, proto, payload, end, payloadEnd, 4, out, depth);
  }
}

function decodeIpv6(buf: Buffer, pos: number, end: number, wireEnd: number, out: DecodedTcp, depth: number): DecodeResult {
  if (end - pos < 40 || buf[pos]! >> 4 !== 6) return depth === 0 ? 'other' : 'ip';
  const claimed = (buf[pos + 4]! << 8) | buf[pos + 5]!;
  const payloadLen = Math.min(claimed, wireEnd - pos - 40);
  let next = buf[pos + 6]!;
  const ipStart = pos;
  pos += 40;
  let remaining = payloadLen;
  // Extension headers: hop-by-hop (0), routing (43), fragment (44), AH (51), destination
  // options (60). Followed as long as they go (each takes at least 8 bytes, so the walk ends),
  // as Wireshark follows them.
  while (next !== 6) {
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
      break;
    }
    if (remaining < 0 || pos > end) return 'ip';
  }
  if (remaining < 0 || pos > end) return 'ip';
  if (next === 6) {
    out.family = 6;
    out.src4 = 0;
    out.dst4 = 0;
    out.src6 = buf.toString('hex', ipStart + 8, ipStart + 24);
    out.dst6 = buf.toString('hex', ipStart + 24, ipStart + 40);
    out.ipLen = payloadLen + 40;
    out.tcpClaimed = remaining + claimed - payloadLen;
    out.ipOverclaim = ipStart + 40 + claimed > frameWireEnd;
    return decodeTcp(buf, pos, end, remaining, out);
  }
  if (next === 58) return decodeIcmp6(buf, pos, end, pos + remaining, ipStart, out);
  return decodeIpPayload(buf, next, pos, end, pos + remaining, 6, out, depth);
}

/** IP payloads that carry another packet: IP-in-IP, GRE, and UDP tunnels. */
function decodeIpPayload(buf: Buffer, proto: number, pos: number, end: number, payloadEnd: number, outer: 4 | 6, out: DecodedTcp, depth: number): DecodeResult {
  if (depth >= MAX_DEPTH) return 'ip';
  switch (proto) {
    case 4:
      out.encap |= outer === 4 ? Encap.IPIP : Encap.FOURIN6;
      return decodeIpv4(buf, pos, end, payloadEnd, out, depth + 1);
    case 41:
      out.encap |= outer === 4 ? Encap.SIXIN4 : Encap.SIXIN6;
      return decodeIpv6(buf, pos, end, payloadEnd, out, depth + 1);
    case 47:
      return decodeGre(buf, pos, end, payloadEnd, out, depth + 1);
    case 17:
      return decodeUdp(buf, pos, end, payloadEnd, out, depth + 1);
    default:
      return 'ip';
  }
}

/** GRE (RFC 2784, key and sequence number of RFC 2890), version 0. */
function decodeGre(buf: Buffer, pos: number, end: number, payloadEnd: number, out: DecodedTcp, depth: number): DecodeResult {
  if (end - pos < 4) return 'ip';
  const flags = buf[pos]!;
  const version = buf[pos + 1]! & 0x07;
  // Version 1 is PPTP's enhanced GRE; a routing field (R) is obsolete (RFC 2784 2.1): not followed.
  if (version !== 0 || (flags & 0x40) !== 0) return 'ip';
  const proto = (buf[pos + 2]! << 8) | buf[pos + 3]!;
  const hasSeq = (flags & 0x10) !== 0;
  const headerLen = 4 + ((flags & 0x80) !== 0 ? 4 : 0) + ((flags & 0x20) !== 0 ? 4 : 0) + (hasSeq ? 4 : 0);
  pos += headerLen;
  if (pos > end) return 'ip';
  out.encap |= Encap.GRE;
  switch (proto) {
    case ETH_IPV4:
      return decodeIpv4(buf, pos, end, payloadEnd, out, depth);
    case ETH_IPV6:
      return decodeIpv6(buf, pos, end, payloadEnd, out, depth);
    case 0x6558: // transparent Ethernet bridging
      return decodeEthernet(buf, pos, end, payloadEnd, out, depth);
    case 0x8847:
      return decodeMpls(buf, pos, end, payloadEnd, out, depth);
    case 0x88be:
      // ERSPAN type I has no header of its own and no GRE sequence number; type II has both
      // (an 8-byte header, version 1), as Wireshark's ERSPAN dissector tells them apart.
      if (!hasSeq) {
        out.encap |= Encap.ERSPAN1;
        return decodeEthernet(buf, pos, end, payloadEnd, out, depth);
      }
      out.encap |= Encap.ERSPAN2;
      return decodeEthernet(buf, pos + 8, end, payloadEnd, out, depth);
    case 0x22eb: {
      // ERSPAN type III: a 12-byte header, plus an 8-byte platform subheader when O is set.
      if (end - pos < 12) return 'ip';
      out.encap |= Encap.ERSPAN3;
      const optional = (buf[pos + 11]! & 0x01) !== 0 ? 8 : 0;
      return decodeEthernet(buf, pos + 12 + optional, end, payloadEnd, out, depth);
    }
    default:
      return 'ip';
  }
}

const UDP_VXLAN = 4789;
const UDP_GENEVE = 6081;
const UDP_TEREDO = 3544;
const UDP_GTP_U = 2152;
const UDP_GRE = 4754; // GRE-in-UDP (RFC 8086)
const UDP_AYIYA = 5072;

/** UDP tunnels by port, the lower port tried first as Wireshark's UDP dissector does. */
function decodeUdp(buf: Buffer, pos: number, end: number, payloadEnd: number, out: DecodedTcp, depth: number): DecodeResult {
  if (end - pos < 8) return 'ip';
  const sport = (buf[pos]! << 8) | buf[pos + 1]!;
  const dport = (buf[pos + 2]! << 8) | buf[pos + 3]!;
  const udpLen = (buf[pos + 4]! << 8) | buf[pos + 5]!;
  if (udpLen >= 8 && pos + udpLen < payloadEnd) payloadEnd = pos + udpLen;
  const low = sport < dport ? sport : dport;
  const high = sport < dport ? dport : sport;
  const port = isTunnelPort(low) ? low : isTunnelPort(high) ? high : 0;
  pos += 8;
  if (port === UDP_VXLAN) {
    if (end - pos < 8) return 'ip';
    out.encap |= Encap.VXLAN;
    return decodeEthernet(buf, pos + 8, end, payloadEnd, out, depth);
  }
  if (port === UDP_GENEVE) {
    if (end - pos < 8) return 'ip';
    const optionsLen = (buf[pos]! & 0x3f) * 4;
    const proto = (buf[pos + 2]! << 8) | buf[pos + 3]!;
    out.encap |= Encap.GENEVE;
    const inner = pos + 8 + optionsLen;
    if (proto === 0x6558) return decodeEthernet(buf, inner, end, payloadEnd, out, depth);
    if (proto === ETH_IPV4) return decodeIpv4(buf, inner, end, payloadEnd, out, depth);
    if (proto === ETH_IPV6) return decodeIpv6(buf, inner, end, payloadEnd, out, depth);
    return 'ip';
  }
  if (port === UDP_TEREDO) return decodeTeredo(buf, pos, end, payloadEnd, out, depth);
  if (port === UDP_GTP_U) return decodeGtpU(buf, pos, end, payloadEnd, out, depth);
  if (port === UDP_GRE) return decodeGre(buf, pos, end, payloadEnd, out, depth);
  if (port === UDP_AYIYA) return decodeAyiya(buf, pos, end, payloadEnd, out, depth);
  return 'ip';
}

function isTunnelPort(port: number): boolean {
  return port === UDP_VXLAN || port === UDP_GENEVE || port === UDP_TEREDO || port === UDP_GTP_U || port === UDP_GRE || port === UDP_AYIYA;
}

/** GTP-U (3GPP TS 29.281 5.1): a G-PDU (type 0xff) carries an IP packet after the header and its extensions. */
function decodeGtpU(buf: Buffer, pos: number, end: number, payloadEnd: number, out: DecodedTcp, depth: number): DecodeResult {
  if (end - pos < 8) return 'ip';
  const flags = buf[pos]!;
  if (flags >> 5 !== 1 || buf[pos + 1] !== 0xff) return 'ip';
  let at = pos + 8;
  if ((flags & 0x07) !== 0) {
    // Sequence number, N-PDU number and next extension type, then the extension headers
    // (length in 4-byte units, the last byte naming the next one).
    if (end - at < 4) return 'ip';
    let next = buf[at + 3]!;
    at += 4;
    while (next !== 0) {
      if (end - at < 4 || buf[at] === 0) return 'ip';
      const len = buf[at]! * 4;
      next = buf[at + len - 1] ?? 0;
      at += len;
    }
  }
  if (end - at < 1) return 'ip';
  out.encap |= Encap.GTP;
  const nibble = buf[at]! >> 4;
  if (nibble === 4) return decodeIpv4(buf, at, end, payloadEnd, out, depth);
  if (nibble === 6) return decodeIpv6(buf, at, end, payloadEnd, out, depth);
  return 'ip';
}

/** AYIYA (draft-massar-v6ops-ayiya): identity and signature of announced sizes, then the packet its next header names. */
function decodeAyiya(buf: Buffer, pos: number, end: number, payloadEnd: number, out: DecodedTcp, depth: number): DecodeResult {
  if (end - pos < 8) return 'ip';
  const idLen = 1 << (buf[pos]! >> 4);
  const sigLen = (buf[pos + 1]! >> 4) * 4;
  const next = buf[pos + 3]!;
  const at = pos + 8 + idLen + sigLen;
  if (at > end) return 'ip';
  out.encap |= Encap.AYIYA;
  if (next === 41) return decodeIpv6(buf, at, end, payloadEnd, out, depth);
  if (next === 4) return decodeIpv4(buf, at, end, payloadEnd, out, depth);
  return 'ip';
}

/** Teredo (RFC 4380 5.1.1): optional authentication and origin indicators, then IPv6. */
function decodeTeredo(buf: Buffer, pos: number, end: number, payloadEnd: number, out: DecodedTcp, depth: number): DecodeResult {
  if (end - pos >= 4 && buf[pos] === 0 && buf[pos + 1] === 1) {
    // Authentication: 0x0001, client id length, auth value length, id, value, 8-byte nonce, confirmation.
    pos += 4 + buf[pos + 2]! + buf[pos + 3]! + 9;
  }
  if (end - pos >= 8 && buf[pos] === 0 && buf[pos + 1] === 0) pos += 8; // origin indication
  if (end - pos < 40 || buf[pos]! >> 4 !== 6) return 'ip';
  out.encap |= Encap.TEREDO;
  return decodeIpv6(buf, pos, end, payloadEnd, out, depth);
}

function decodeTcp(buf: Buffer, pos: number, end: number, tcpLen: number, out: DecodedTcp): DecodeResult {
  // Wireshark reads ports, sequence numbers, flags and window (16 bytes) before it assigns
  // the segment to a stream; with less of the segment captured, or claimed by the IP length,
  // it is no TCP segment at all.
  const available = Math.min(end - pos, tcpLen);
  if (available < 16) return 'ip';
  out.headerCut = end - pos < 20;
  out.tcpLen = tcpLen;
  const headerLen = (buf[pos + 12]! >> 4) * 4;
  out.srcPort = (buf[pos]! << 8) | buf[pos + 1]!;
  out.dstPort = (buf[pos + 2]! << 8) | buf[pos + 3]!;
  out.seq = buf.readUInt32BE(pos + 4);
  out.ack = buf.readUInt32BE(pos + 8);
  out.flags = ((buf[pos + 12]! & 0x01) << 8) | buf[pos + 13]!;
  out.window = (buf[pos + 14]! << 8) | buf[pos + 15]!;
  out.headerLen = headerLen;
  out.tcpOffset = pos;
  out.mss = -1;
  out.windowScale = -1;
  out.sackPermitted = false;
  out.timestamps = false;
  // A header longer than the segment: tshark shows its flags ("short segment") but runs no
  // sequence analysis on it. A header length under 20 ("bogus TCP header length") does get the
  // analysis, with length = IP payload - header length, before tshark gives up on the header.
  out.shortHeader = tcpLen < headerLen;
  if (out.shortHeader) {
    out.seglen = 0;
    out.payloadOffset = pos;
    out.payloadCaptured = 0;
    return 'tcp';
  }
  out.seglen = tcpLen - headerLen;
  out.payloadOffset = pos + headerLen;
  // With a bogus header length the "payload" overlaps the header: never hand it out.
  out.payloadCaptured = headerLen < 20 ? 0 : Math.max(0, Math.min(out.seglen, end - pos - headerLen));
  out.optionsThrow = false;
  if (headerLen > 20) {
    const optEnd = Math.min(pos + headerLen, end);
    if ((out.flags & TH_SYN) !== 0) parseOptions(buf, pos + 20, optEnd, out);
    out.optionsThrow = optionsThrow(buf, pos + 20, optEnd);
  }
  return 'tcp';
}

/**
 * Whether Wireshark's option dissectors raise an exception on these options (measured with
 * tshark 4.0): a SACK option with 1 to 7 data bytes (its first block cannot be read), an MPTCP
 * option of 3 bytes (its subtype's fields cannot be read).
 */
function optionsThrow(buf: Buffer, pos: number, end: number): boolean {
  while (pos < end) {
    const kind = buf[pos]!;
    if (kind === 0) return false;
    if (kind === 1) {
      pos++;
      continue;
    }
    if (pos + 1 >= end) return false;
    const len = buf[pos + 1]!;
    if (len < 2 || pos + len > end) return false;
    if (kind === 5 && len > 2 && len < 10) return true;
    if (kind === 30 && len === 3) return true;
    pos += len;
  }
  return false;
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
