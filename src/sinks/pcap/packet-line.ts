/**
 * One line per packet as `tcpdump -nn` prints it (relative sequence numbers by default, `-S`
 * absolute), plus Wireshark's analysis verdicts in brackets; and the same as JSON for `--json`.
 *
 * Relative numbering follows tcpdump's print-tcp.c: a conversation is keyed by its addresses in
 * memory order (the lower address first, or the lower port when the addresses are equal, its
 * port in the high half), created (or reset by a
 * SYN) on the first segment that carries ACK, which itself prints absolute numbers; later
 * segments with ACK print seq and ack minus the conversation's base; segments without ACK
 * print absolute numbers.
 */
import { encapsulationNames } from '../../model/packet.js';
import { formatIpv6 } from '../../model/address.js';
import type { DecodedTcp } from '../../analysis/pcap/decode.js';
import type { RawPacket } from '../../model/packet.js';
import { isoTime } from '../../analysis/pcap/connection.js';
import {
  A_DUPLICATE_ACK, A_FAST_RETRANSMISSION, A_KEEP_ALIVE, A_KEEP_ALIVE_ACK, A_LOST_PACKET, A_OUT_OF_ORDER, A_RETRANSMISSION,
  A_SPURIOUS_RETRANSMISSION, A_WINDOW_UPDATE, A_ZERO_WINDOW, A_ZERO_WINDOW_PROBE, A_ZERO_WINDOW_PROBE_ACK, A_ACK_LOST_PACKET,
} from '../../analysis/pcap/seq-analysis.js';
import { icmpErrorText } from './icmp-line.js';
import { tcpOptionsText } from './tcp-options.js';

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

/** The verdict names of a packet's analysis flags (A_*). */
export function verdictNames(flags: number): string[] {
  const names: string[] = [];
  for (const [bit, name] of VERDICTS) if ((flags & bit) !== 0) names.push(name);
  return names;
}

/** tcpdump's flag letters, in its order: F S R P . U E W; "none" without any. */
export function tcpFlagLetters(flags: number): string {
  let s = '';
  if (flags & 0x01) s += 'F';
  if (flags & 0x02) s += 'S';
  if (flags & 0x04) s += 'R';
  if (flags & 0x08) s += 'P';
  if (flags & 0x10) s += '.';
  if (flags & 0x20) s += 'U';
  if (flags & 0x40) s += 'E';
  if (flags & 0x80) s += 'W';
  return s === '' ? 'none' : s;
}

function v4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function v6(hex: string): string {
  return formatIpv6(Buffer.from(hex, 'hex'));
}

function address(t: DecodedTcp, src: boolean): string {
  return t.family === 4 ? v4(src ? t.src4 : t.dst4) : v6(src ? t.src6 : t.dst6);
}

/** tcpdump's clock: local time of day with microseconds. */
function clock(p: RawPacket<Buffer>): string {
  const carry = Math.floor(p.tsNsec / 1e9);
  const nsec = p.tsNsec - carry * 1e9;
  const d = new Date((p.tsSec + carry) * 1000);
  const hh = String(d.getHours()).padStart(2, '0');
  const mm = String(d.getMinutes()).padStart(2, '0');
  const ss = String(d.getSeconds()).padStart(2, '0');
  return `${hh}:${mm}:${ss}.${String(Math.floor(nsec / 1000)).padStart(6, '0')}`;
}

interface SeqBase {
  seq: number;
  ack: number;
}

/** Conversations remembered for relative numbering; past this the table starts over. */
const MAX_CONVERSATIONS = 65_536;

export interface PacketLineOptions {
  /** tcpdump -S: absolute sequence numbers. */
  readonly absoluteSeq?: boolean;
}

export class PacketLinePrinter {
  private readonly bases = new Map<string, SeqBase>();

  constructor(private readonly options: PacketLineOptions = {}) {}

  /**
   * The line of one packet: `tcp` is the decoded segment (or, for an ICMP error, the segment
   * it quotes), null for other frames; `flags` the analysis verdicts.
   */
  line(p: RawPacket<Buffer>, t: DecodedTcp | null, flags: number, icmp = false): string {
    if (t === null) return `${clock(p)} non-TCP frame, length ${p.origLen}`;
    const via = t.encap === 0 ? '' : `${encapsulationNames(t.encap).join(' ')}: `;
    if (icmp) return `${clock(p)} ${via}${icmpErrorText(t)}`;
    const ip = t.family === 4 ? 'IP' : 'IP6';
    const ends = `${ip} ${address(t, true)}.${t.srcPort} > ${address(t, false)}.${t.dstPort}:`;
    if (t.headerLen < 20) return `${clock(p)} ${via}${ends}  tcp ${t.tcpLen} [bad hdr length ${t.headerLen} - too short, < 20]`;
    if (t.headerCut) return `${clock(p)} ${via}${ends}  [|tcp]`;
    let line = `${clock(p)} ${via}${ends} Flags [${tcpFlagLetters(t.flags)}]`;
    if (t.shortHeader) return `${line} [bad hdr length ${t.headerLen} - too long, > ${t.tcpLen}]`;
    const { seq, ack, thseq, thack, rev } = this.relative(t);
    if (t.seglen > 0) line += `, seq ${seq}:${(seq + t.seglen) >>> 0}`;
    else if ((t.flags & 0x07) !== 0) line += `, seq ${seq}`;
    if ((t.flags & 0x10) !== 0) line += `, ack ${ack}`;
    line += `, win ${t.window}`;
    if ((t.flags & 0x20) !== 0) line += `, urg ${p.buf.readUInt16BE(t.tcpOffset + 18)}`;
    if (t.headerLen > 20) {
      const optEnd = Math.min(t.tcpOffset + t.headerLen, p.offset + p.capLen);
      const opts = tcpOptionsText(p.buf, t.tcpOffset + 20, optEnd, rev ? thseq : thack);
      line += `, options [${opts.text}]`;
      if (opts.bad) return line;
    }
    line += `, length ${t.seglen}`;
    const tags = verdictNames(flags);
    return tags.length > 0 ? `${line} [${tags.join(', ')}]` : line;
  }

  /** Sequence and acknowledgment numbers as tcpdump prints them, and the bases for SACK edges. */
  private relative(t: DecodedTcp): { seq: number; ack: number; thseq: number; thack: number; rev: boolean } {
    if (this.options.absoluteSeq === true || (t.flags & 0x10) === 0) return { seq: t.seq, ack: t.ack, thseq: 0, thack: 0, rev: false };
    const src = t.family === 4 ? t.src4 : t.src6;
    const dst = t.family === 4 ? t.dst4 : t.dst6;
    const rev = src > dst || (src === dst && t.srcPort > t.dstPort);
    const key = rev ? `${t.family} ${dst} ${src} ${t.dstPort * 65536 + t.srcPort}` : `${t.family} ${src} ${dst} ${t.srcPort * 65536 + t.dstPort}`;
    let base = this.bases.get(key);
    if (base === undefined || (t.flags & 0x02) !== 0) {
      if (base === undefined && this.bases.size >= MAX_CONVERSATIONS) this.bases.clear();
      base = rev ? { ack: t.seq, seq: (t.ack - 1) >>> 0 } : { seq: t.seq, ack: (t.ack - 1) >>> 0 };
      this.bases.set(key, base);
      return { seq: t.seq, ack: t.ack, thseq: base.seq, thack: base.ack, rev };
    }
    const seq = (t.seq - (rev ? base.ack : base.seq)) >>> 0;
    const ack = (t.ack - (rev ? base.seq : base.ack)) >>> 0;
    return { seq, ack, thseq: base.seq, thack: base.ack, rev };
  }

  /** The packet as a JSON object (sequence numbers always absolute: they are data, not display). */
  json(p: RawPacket<Buffer>, t: DecodedTcp | null, flags: number, icmp = false): Record<string, unknown> {
    const ts = isoTime(p.tsSec, p.tsNsec);
    if (t === null) return { type: 'packet', n: p.index, ts, length: p.origLen, tcp: false };
    const base = {
      type: 'packet', n: p.index, ts, length: p.origLen, family: t.family,
      src: { address: address(t, true), port: t.srcPort }, dst: { address: address(t, false), port: t.dstPort },
      encapsulation: encapsulationNames(t.encap),
    };
    if (icmp) {
      return {
        ...base, tcp: false, icmp: { family: t.icmpFamily, type: t.icmpType, code: t.icmpCode, ...(t.icmpMtu >= 0 ? { mtu: t.icmpMtu } : {}) },
      };
    }
    return {
      ...base, tcp: true, flags: tcpFlagLetters(t.flags), seq: t.seq, ack: t.ack, window: t.window, payloadBytes: t.seglen,
      analysis: verdictNames(flags),
    };
  }
}
