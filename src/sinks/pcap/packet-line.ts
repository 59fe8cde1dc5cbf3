/**
 * One line per packet, as `tcpdump -nn -S` prints it, plus Wireshark's analysis verdicts in
 * brackets; and the same as a JSON object for `--json`.
 */
import { formatIpv6 } from '../../model/address.js';
import type { DecodedTcp } from '../../analysis/pcap/decode.js';
import type { RawPacket } from '../../model/packet.js';
import { isoTime } from '../../analysis/pcap/connection.js';
import {
  A_DUPLICATE_ACK, A_FAST_RETRANSMISSION, A_KEEP_ALIVE, A_KEEP_ALIVE_ACK, A_LOST_PACKET, A_OUT_OF_ORDER, A_RETRANSMISSION,
  A_SPURIOUS_RETRANSMISSION, A_WINDOW_UPDATE, A_ZERO_WINDOW, A_ZERO_WINDOW_PROBE, A_ZERO_WINDOW_PROBE_ACK, A_ACK_LOST_PACKET,
} from '../../analysis/pcap/seq-analysis.js';

const VERDICTS: ReadonlyArray<[number, string]> = [
  [A_RETRANSMISSION, 'retransmission'],
  [A_FAST_RETRANSMISSION, 'fast-retransmission'],
  [A_SPURIOUS_RETRANSMISSION, 'spurious-retransmission'],
  [A_OUT_OF_ORDER, 'out-of-order'],
  [A_LOST_PACKET, 'previous-segment-lost'],
  [A_ACK_LOST_PACKET, 'acked-unseen-segment'],
  [A_DUPLICATE_ACK, 'dup-ack'],
  [A_ZERO_WINDOW, 'zero-window'],
  [A_ZERO_WINDOW_PROBE, 'zero-window-probe'],
  [A_ZERO_WINDOW_PROBE_ACK, 'zero-window-probe-ack'],
  [A_KEEP_ALIVE, 'keep-alive'],
  [A_KEEP_ALIVE_ACK, 'keep-alive-ack'],
  [A_WINDOW_UPDATE, 'window-update'],
];

export function verdictNames(flags: number): string[] {
  const names: string[] = [];
  for (const [bit, name] of VERDICTS) if ((flags & bit) !== 0) names.push(name);
  return names;
}

/** tcpdump's flag letters: S F P R U E W and '.' for ACK. */
export function tcpFlagLetters(flags: number): string {
  let s = '';
  if (flags & 0x02) s += 'S';
  if (flags & 0x01) s += 'F';
  if (flags & 0x08) s += 'P';
  if (flags & 0x04) s += 'R';
  if (flags & 0x20) s += 'U';
  if (flags & 0x40) s += 'E';
  if (flags & 0x80) s += 'W';
  if (flags & 0x10) s += '.';
  return s === '' ? 'none' : s;
}

function address(t: DecodedTcp, src: boolean): string {
  if (t.family === 4) {
    const n = src ? t.src4 : t.dst4;
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }
  return formatIpv6(Buffer.from(src ? t.src6 : t.dst6, 'hex'));
}

function clock(p: RawPacket<Buffer>): string {
  const carry = Math.floor(p.tsNsec / 1e9);
  const nsec = p.tsNsec - carry * 1e9;
  const d = new Date((p.tsSec + carry) * 1000);
  const hh = String(d.getUTCHours()).padStart(2, '0');
  const mm = String(d.getUTCMinutes()).padStart(2, '0');
  const ss = String(d.getUTCSeconds()).padStart(2, '0');
  return `${hh}:${mm}:${ss}.${String(Math.floor(nsec / 1000)).padStart(6, '0')}`;
}

export function packetLine(p: RawPacket<Buffer>, t: DecodedTcp | null, flags: number): string {
  if (t === null) return `${clock(p)} non-TCP frame, length ${p.origLen}`;
  const tags = verdictNames(flags);
  const ackPart = (t.flags & 0x10) !== 0 ? `, ack ${t.ack}` : '';
  return `${clock(p)} ${t.family === 4 ? 'IP' : 'IP6'} ${address(t, true)}.${t.srcPort} > ${address(t, false)}.${t.dstPort}: Flags [${tcpFlagLetters(t.flags)}], seq ${t.seq}${t.seglen > 0 ? `:${(t.seq + t.seglen) >>> 0}` : ''}${ackPart}, win ${t.window}, length ${t.seglen}${tags.length > 0 ? ` [${tags.join(', ')}]` : ''}`;
}

export function packetJson(p: RawPacket<Buffer>, t: DecodedTcp | null, flags: number): Record<string, unknown> {
  const ts = isoTime(p.tsSec, p.tsNsec);
  if (t === null) return { type: 'packet', n: p.index, ts, length: p.origLen, tcp: false };
  return {
    type: 'packet', n: p.index, ts, length: p.origLen, tcp: true, family: t.family,
    src: { address: address(t, true), port: t.srcPort }, dst: { address: address(t, false), port: t.dstPort },
    flags: tcpFlagLetters(t.flags), seq: t.seq, ack: t.ack, window: t.window, payloadBytes: t.seglen,
    analysis: verdictNames(flags),
  };
}
