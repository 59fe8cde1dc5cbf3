/**
 * What the pcap reader hands to its consumers: one captured frame, borrowed (not copied) from the
 * reader's buffer. The object and its bytes are reused for the next packet, so a consumer that
 * keeps anything must copy it (style guide: binary parsing without per-packet allocation).
 */

/** Link-layer header types (https://www.tcpdump.org/linktypes.html). */
export const LinkType = {
  NULL: 0, // BSD loopback: 4-byte address family in the capturing host's byte order
  ETHERNET: 1,
  RAW: 101, // raw IPv4/IPv6, no link header
  RAW_OPENBSD: 12, // DLT_RAW on some platforms (pcap-common.c maps 12 and 14 to raw IP)
  RAW_BSDOS: 14,
  LOOP: 108, // OpenBSD loopback: address family in network byte order
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

export type FileFormat = 'pcap' | 'pcapng';

/**
 * `Bytes` is Uint8Array here (platform-neutral); Node code reads packets as RawPacket<Buffer>,
 * whose decoders use Buffer's native reads.
 */
export interface RawPacket<Bytes extends Uint8Array = Uint8Array> {
  /** 1-based packet number, as Wireshark numbers frames. */
  index: number;
  /** Byte offset of the record in the input (its header), for error messages. */
  fileOffset: number;
  linkType: number;
  /** Seconds and nanoseconds since the epoch; kept apart so deltas stay exact in a double. */
  tsSec: number;
  tsNsec: number;
  /** Bytes present in the capture, and the frame's length on the wire. */
  capLen: number;
  origLen: number;
  /** The frame is `buf[offset .. offset + capLen)`. Valid only during the callback. */
  buf: Bytes;
  offset: number;
  /** pcapng interface id (0 for classic pcap). */
  interfaceId: number;
}

export interface PcapFileInfo {
  format: FileFormat;
  /** Timestamp resolution of the first section / interface: 'us' | 'ns' | other powers. */
  nanosecond: boolean;
  bigEndian: boolean;
  linkTypes: number[];
  snaplen: number;
}

export function linkTypeName(linkType: number): string {
  switch (linkType) {
    case LinkType.NULL:
      return 'NULL';
    case LinkType.ETHERNET:
      return 'EN10MB';
    case LinkType.RAW:
    case LinkType.RAW_OPENBSD:
    case LinkType.RAW_BSDOS:
      return 'RAW';
    case LinkType.LOOP:
      return 'LOOP';
    case LinkType.LINUX_SLL:
      return 'LINUX_SLL';
    case LinkType.LINUX_SLL2:
      return 'LINUX_SLL2';
    case LinkType.IPV4:
      return 'IPV4';
    case LinkType.IPV6:
      return 'IPV6';
    default:
      return `LINKTYPE_${linkType}`;
  }
}

/**
 * Tunnels and label stacks a TCP segment was found inside, one bit each (VLAN tags are link
 * detail, not listed). A connection's encapsulation is the union over its packets.
 */
export const Encap = {
  MPLS: 1 << 0,
  PPPOE: 1 << 1,
  PBB: 1 << 2, // IEEE 802.1ah provider backbone bridging (MAC-in-MAC)
  GRE: 1 << 3,
  ERSPAN1: 1 << 4,
  ERSPAN2: 1 << 5,
  ERSPAN3: 1 << 6,
  VXLAN: 1 << 7,
  GENEVE: 1 << 8,
  TEREDO: 1 << 9,
  IPIP: 1 << 10, // IPv4 in IPv4 (RFC 2003)
  SIXIN4: 1 << 11, // IPv6 in IPv4 (RFC 4213, protocol 41)
  FOURIN6: 1 << 12, // IPv4 in IPv6 (RFC 2473)
  SIXIN6: 1 << 13, // IPv6 in IPv6 (RFC 2473)
  GTP: 1 << 14, // GTP-U (3GPP TS 29.281) on UDP 2152
  AYIYA: 1 << 15, // Anything In Anything on UDP 5072
} as const;

const ENCAP_NAMES: ReadonlyArray<[number, string]> = [
  [Encap.PBB, '802.1ah'],
  [Encap.MPLS, 'mpls'],
  [Encap.PPPOE, 'pppoe'],
  [Encap.IPIP, 'ipip'],
  [Encap.SIXIN4, '6in4'],
  [Encap.FOURIN6, '4in6'],
  [Encap.SIXIN6, '6in6'],
  [Encap.GRE, 'gre'],
  [Encap.ERSPAN1, 'erspan1'],
  [Encap.ERSPAN2, 'erspan2'],
  [Encap.ERSPAN3, 'erspan3'],
  [Encap.VXLAN, 'vxlan'],
  [Encap.GENEVE, 'geneve'],
  [Encap.TEREDO, 'teredo'],
  [Encap.GTP, 'gtp'],
  [Encap.AYIYA, 'ayiya'],
];

/** The names of the encapsulation bits set, outermost kinds first. */
export function encapsulationNames(bits: number): string[] {
  const names: string[] = [];
  if (bits === 0) return names;
  for (const [bit, name] of ENCAP_NAMES) if ((bits & bit) !== 0) names.push(name);
  return names;
}
