/**
 * struct tcp_info (include/uapi/linux/tcp.h), decoded from the bytes the kernel gives through
 * getsockopt(TCP_INFO) or the INET_DIAG_INFO netlink attribute. Older kernels send a shorter
 * struct: fields past the end are null, never garbage.
 */

export interface TcpInfo {
  /** Smoothed RTT (tcpi_rtt, µs in the kernel) in milliseconds. */
  readonly rttMs: number;
  readonly rttvarMs: number;
  readonly minRttMs: number | null;
  readonly rtoMs: number;
  /** Retransmitted segments currently in flight (tcpi_retrans). */
  readonly retrans: number;
  /** Consecutive RTO retransmits of the head segment (tcpi_retransmits). */
  readonly retransmits: number;
  readonly totalRetrans: number;
  readonly lost: number;
  readonly sacked: number;
  readonly unacked: number;
  readonly cwnd: number;
  /** null while the kernel still holds the initial "infinite" ssthresh (TCP_INFINITE_SSTHRESH). */
  readonly ssthresh: number | null;
  readonly mss: number;
  readonly rcvMss: number;
  readonly advmss: number;
  readonly pmtu: number;
  readonly sndWscale: number;
  readonly rcvWscale: number;
  readonly bytesAcked: number | null;
  readonly bytesReceived: number | null;
  readonly bytesSent: number | null;
  readonly bytesRetrans: number | null;
  readonly segsOut: number | null;
  readonly segsIn: number | null;
  /** bits per second (tcpi_delivery_rate is bytes/s). */
  readonly deliveryRateBps: number | null;
  readonly pacingRateBps: number | null;
  readonly lastSendMs: number;
  readonly lastReceiveMs: number;
  readonly lastAckReceiveMs: number;
  readonly rcvSpace: number;
  readonly rcvSsthresh: number;
  /** Peer's advertised receive window after scaling (tcpi_snd_wnd, 5.4+). */
  readonly sndWnd: number | null;
  /** Our advertised receive window (tcpi_rcv_wnd, 6.1+). */
  readonly rcvWnd: number | null;
  readonly notsentBytes: number | null;
  readonly reordering: number;
  readonly dsackDups: number | null;
  readonly options: readonly string[];
  readonly caState: string;
}

// TCP_INFINITE_SSTHRESH (include/net/tcp.h).
const INFINITE_SSTHRESH = 0x7fffffff;

// enum tcp_ca_state (include/uapi/linux/tcp.h).
const CA_STATES = ['open', 'disorder', 'cwr', 'recovery', 'loss'] as const;

// TCPI_OPT_* (include/uapi/linux/tcp.h).
const OPTION_BITS: ReadonlyArray<readonly [number, string]> = [
  [1, 'timestamps'],
  [2, 'sack'],
  [4, 'wscale'],
  [8, 'ecn'],
  [16, 'ecn_seen'],
  [32, 'syn_data'],
  [64, 'usec_ts'],
];

// Every possible tcpi_options byte maps to one shared, frozen list: no allocation per socket.
const OPTIONS_BY_BYTE: readonly (readonly string[])[] = Array.from({ length: 128 }, (_, byte) =>
  Object.freeze(OPTION_BITS.filter(([bit]) => (byte & bit) !== 0).map(([, name]) => name)),
);

/**
 * Decode tcp_info from `length` bytes at `offset` of `buf` (host byte order: little-endian on
 * every architecture Linux servers run here). Bytes are read by index rather than through
 * Buffer methods so that model/ stays platform-neutral; V8 compiles both to the same loads.
 */
export function decodeTcpInfo(buf: Uint8Array, offset = 0, length = buf.length - offset): TcpInfo | null {
  if (length < 104) return null; // everything up to tcpi_total_retrans is in every kernel since 2.6
  const end = offset + length;
  const u8 = (at: number): number => buf[offset + at] ?? 0;
  const u32 = (at: number): number => {
    const i = offset + at;
    return (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24)) >>> 0;
  };
  const opt32 = (at: number): number | null => (offset + at + 4 <= end ? u32(at) : null);
  // Two u32 reads instead of a BigInt: exact up to 2^53, which byte counters do not reach.
  const opt64 = (at: number): number | null => (offset + at + 8 <= end ? u32(at) + u32(at + 4) * 4294967296 : null);
  const ms = (us: number): number => Math.round(us) / 1000;

  const ssthresh = u32(76);
  const optionsByte = u8(5);
  const wscales = u8(6);
  const deliveryRate = opt64(160);
  const pacingRate = opt64(104);
  const minRtt = opt32(148);
  return {
    rttMs: ms(u32(68)),
    rttvarMs: ms(u32(72)),
    minRttMs: minRtt === null || minRtt === 0xffffffff ? null : ms(minRtt),
    rtoMs: ms(u32(8)),
    retrans: u32(36),
    retransmits: u8(2),
    totalRetrans: u32(100),
    lost: u32(32),
    sacked: u32(28),
    unacked: u32(24),
    cwnd: u32(80),
    ssthresh: ssthresh >= INFINITE_SSTHRESH ? null : ssthresh,
    mss: u32(16),
    rcvMss: u32(20),
    advmss: u32(84),
    pmtu: u32(60),
    sndWscale: wscales & 0x0f,
    rcvWscale: wscales >> 4,
    bytesAcked: opt64(120),
    bytesReceived: opt64(128),
    bytesSent: opt64(200),
    bytesRetrans: opt64(208),
    segsOut: opt32(136),
    segsIn: opt32(140),
    deliveryRateBps: deliveryRate === null ? null : deliveryRate * 8,
    // ~0ULL means "no pacing limit".
    pacingRateBps: pacingRate === null || pacingRate >= 2 ** 53 ? null : pacingRate * 8,
    lastSendMs: u32(44),
    lastReceiveMs: u32(52),
    lastAckReceiveMs: u32(56),
    rcvSpace: u32(96),
    rcvSsthresh: u32(64),
    sndWnd: opt32(228),
    rcvWnd: opt32(232),
    notsentBytes: opt32(144),
    reordering: u32(88),
    dsackDups: opt32(216),
    options: OPTIONS_BY_BYTE[optionsByte & 0x7f]!,
    caState: CA_STATES[u8(1)] ?? `unknown(${u8(1)})`,
  };
}
