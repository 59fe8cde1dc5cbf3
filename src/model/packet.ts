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
