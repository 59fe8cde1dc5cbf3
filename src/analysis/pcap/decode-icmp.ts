/**
 * ICMP and ICMPv6 errors that quote a TCP segment: the quoted addresses, ports, sequence number
 * and flags, with the error's type, code and MTU (fragmentation needed, RFC 1191; packet too
 * big, RFC 4443 3.2).
 */
import { isIcmp4Error, isIcmp6Error } from '../../model/icmp.js';
import type { DecodedTcp } from './segment.js';
import type { DecodeResult } from './decode.js';

/**
 * The TCP header quoted in an ICMP error: at least its ports are needed to name the
 * connection; sequence number and flags when the quote holds them (RFC 792 quotes only 8 bytes).
 */
function readQuotedTcp(buf: Buffer, pos: number, end: number, out: DecodedTcp): DecodeResult {
  if (end - pos < 4) return 'ip';
  out.srcPort = (buf[pos]! << 8) | buf[pos + 1]!;
  out.dstPort = (buf[pos + 2]! << 8) | buf[pos + 3]!;
  out.seq = end - pos >= 8 ? buf.readUInt32BE(pos + 4) : 0;
  out.ack = end - pos >= 12 ? buf.readUInt32BE(pos + 8) : 0;
  out.flags = end - pos >= 14 ? ((buf[pos + 12]! & 0x01) << 8) | buf[pos + 13]! : -1;
  out.window = 0;
  out.headerLen = 0;
  out.shortHeader = false;
  out.headerCut = false;
  out.optionsThrow = false;
  out.seglen = 0;
  out.tcpLen = 0;
  out.tcpOffset = pos;
  out.payloadOffset = pos;
  out.payloadCaptured = 0;
  out.mss = -1;
  out.windowScale = -1;
  out.sackPermitted = false;
  out.timestamps = false;
  return 'icmp';
}

/** ICMP (RFC 792): an error whose quoted datagram is TCP over IPv4. */
export function decodeIcmp4(buf: Buffer, pos: number, end: number, payloadEnd: number, from: number, to: number, out: DecodedTcp): DecodeResult {
  if (end - pos < 8 + 20) return 'ip';
  const type = buf[pos]!;
  if (!isIcmp4Error(type)) return 'ip';
  const q = pos + 8;
  if (buf[q]! >> 4 !== 4 || buf[q + 9] !== 6) return 'ip';
  const ihl = (buf[q]! & 0x0f) * 4;
  if (ihl < 20) return 'ip';
  // A quoted later fragment holds no TCP header (Wireshark shows it as data).
  if ((((buf[q + 6]! << 8) | buf[q + 7]!) & 0x1fff) !== 0) return 'ip';
  out.icmpFamily = 4;
  out.icmpType = type;
  out.icmpCode = buf[pos + 1]!;
  // Fragmentation needed carries the next-hop MTU in the second half of the "unused" word
  // (RFC 1191 4); 0 from routers that predate it.
  out.icmpMtu = type === 3 && out.icmpCode === 4 ? (buf[pos + 6]! << 8) | buf[pos + 7]! : -1;
  out.icmpFrom4 = from;
  out.icmpFrom6 = '';
  out.icmpTo4 = to;
  out.icmpTo6 = '';
  out.icmpLen = payloadEnd - pos;
  out.family = 4;
  out.src4 = buf.readUInt32BE(q + 12);
  out.dst4 = buf.readUInt32BE(q + 16);
  out.src6 = '';
  out.dst6 = '';
  out.ipLen = (buf[q + 2]! << 8) | buf[q + 3]!;
  return readQuotedTcp(buf, q + ihl, Math.min(end, payloadEnd), out);
}

/** ICMPv6 (RFC 4443): an error whose quoted packet is TCP over IPv6 (extension headers followed). */
export function decodeIcmp6(buf: Buffer, pos: number, end: number, payloadEnd: number, ipStart: number, out: DecodedTcp): DecodeResult {
  if (end - pos < 8 + 40) return 'ip';
  const type = buf[pos]!;
  if (!isIcmp6Error(type)) return 'ip';
  const q = pos + 8;
  if (buf[q]! >> 4 !== 6) return 'ip';
  const limit = Math.min(end, payloadEnd);
  let next = buf[q + 6]!;
  let at = q + 40;
  while (next === 0 || next === 43 || next === 60 || next === 51 || next === 44) {
    if (limit - at < 8) return 'ip';
    if (next === 44 && (((buf[at + 2]! << 8) | buf[at + 3]!) & 0xfff8) !== 0) return 'ip'; // a later fragment
    const len = next === 51 ? (buf[at + 1]! + 2) * 4 : next === 44 ? 8 : (buf[at + 1]! + 1) * 8;
    next = buf[at]!;
    at += len;
  }
  if (next !== 6) return 'ip';
  out.icmpFamily = 6;
  out.icmpType = type;
  out.icmpCode = buf[pos + 1]!;
  out.icmpMtu = type === 2 ? buf.readUInt32BE(pos + 4) : -1;
  out.icmpFrom4 = 0;
  out.icmpFrom6 = buf.toString('hex', ipStart + 8, ipStart + 24);
  out.icmpTo4 = 0;
  out.icmpTo6 = buf.toString('hex', ipStart + 24, ipStart + 40);
  out.icmpLen = payloadEnd - pos;
  out.family = 6;
  out.src4 = 0;
  out.dst4 = 0;
  out.src6 = buf.toString('hex', q + 8, q + 24);
  out.dst6 = buf.toString('hex', q + 24, q + 40);
  out.ipLen = ((buf[q + 4]! << 8) | buf[q + 5]!) + 40;
  return readQuotedTcp(buf, at, limit, out);
}
