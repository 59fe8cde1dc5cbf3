/**
 * One decoded TCP segment (or the TCP header an ICMP error quotes), written in place by the
 * decoder into one object per analyser: nothing is allocated per packet.
 */
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
  /** The 12 flag bits (NS, CWR, ECE, URG, ACK, PSH, RST, SYN, FIN); -1 in a quote too short to hold them. */
  flags: number;
  /** Raw 16-bit window field (unscaled, as Wireshark's analysis compares it). */
  window: number;
  headerLen: number;
  /** The header claims more bytes than the segment has ("short segment" in Wireshark). */
  shortHeader: boolean;
  /**
   * Fewer than the 20 header bytes captured (16 at least: ports, numbers, flags and window):
   * tshark runs its analysis on such a segment but stops before it shows the verdicts.
   */
  headerCut: boolean;
  /**
   * An option Wireshark's dissector throws on (a SACK shorter than one block, an MPTCP option
   * without its subtype's bytes): like a cut header, the analysis runs but its verdicts are not shown.
   */
  optionsThrow: boolean;
  /** Payload bytes by the IP length (not the snaplen), as Wireshark's tcp.len. */
  seglen: number;
  /** Header and payload bytes by the IP length. */
  tcpLen: number;
  /** Offset of the TCP header and of the payload in the frame buffer; captured payload bytes. */
  tcpOffset: number;
  payloadOffset: number;
  payloadCaptured: number;
  /** Bytes of the IP packet (header + payload) by its length field. */
  ipLen: number;
  /**
   * TCP bytes (header included) by the IP length field as written, not cut to what the frame
   * holds: Zeek's notion of the segment's length (IP_Hdr::PayloadLen).
   */
  tcpClaimed: number;
  /** The IP length claims more than the frame carried: Zeek drops such a packet (truncated_IP_len). */
  ipOverclaim: boolean;
  /** Parsed only for SYN segments (options are what the handshake negotiates). */
  mss: number;
  windowScale: number;
  sackPermitted: boolean;
  timestamps: boolean;
  /** Encap.* bits of the tunnels the segment was found in (0: none). */
  encap: number;
  /** For 'icmp': the error's family, type and code, the MTU it reports (-1: none) and its sender. */
  icmpFamily: 4 | 6;
  icmpType: number;
  icmpCode: number;
  icmpMtu: number;
  icmpFrom4: number;
  icmpFrom6: string;
  /** The error's destination (normally the quoted segment's sender). */
  icmpTo4: number;
  icmpTo6: string;
  /** Bytes of the ICMP message by its IP length (tcpdump's "length"). */
  icmpLen: number;
}

export function newDecodedTcp(): DecodedTcp {
  return {
    family: 4, src4: 0, dst4: 0, src6: '', dst6: '', srcPort: 0, dstPort: 0, seq: 0, ack: 0, flags: 0, window: 0,
    headerLen: 0, shortHeader: false, headerCut: false, optionsThrow: false, seglen: 0, tcpLen: 0, tcpOffset: 0, payloadOffset: 0, payloadCaptured: 0, ipLen: 0, tcpClaimed: 0, ipOverclaim: false,
    mss: -1, windowScale: -1, sackPermitted: false, timestamps: false, encap: 0,
    icmpFamily: 4, icmpType: 0, icmpCode: 0, icmpMtu: -1, icmpFrom4: 0, icmpFrom6: '', icmpTo4: 0, icmpTo6: '', icmpLen: 0,
  };
}
