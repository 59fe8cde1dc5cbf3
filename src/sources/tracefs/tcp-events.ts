/**
 * Decoders for the TCP tracepoints tcpdiag reads, built from the running kernel's format files
 * (format.ts): sock:inet_sock_set_state, tcp:tcp_retransmit_skb, tcp:tcp_retransmit_synack,
 * tcp:tcp_send_reset, tcp:tcp_receive_reset (include/trace/events/sock.h, tcp.h).
 */
import { formatIpv4, formatIpv6 } from '../../model/address.js';
import type { AddressFamily } from '../../model/socket.js';
import type { EventFormat, FieldLayout } from './format.js';
import { requireField, symbolicNames } from './format.js';
import type { RawEventKind, RawTcpEvent } from './raw-event.js';

export interface TracepointSpec {
  readonly system: string;
  readonly event: string;
  readonly kind: Exclude<RawEventKind, 'lost'>;
}

export const TCP_TRACEPOINTS: readonly TracepointSpec[] = [
  { system: 'sock', event: 'inet_sock_set_state', kind: 'state' },
  { system: 'tcp', event: 'tcp_retransmit_skb', kind: 'retransmit' },
  { system: 'tcp', event: 'tcp_retransmit_synack', kind: 'retransmit-synack' },
  { system: 'tcp', event: 'tcp_send_reset', kind: 'send-reset' },
  { system: 'tcp', event: 'tcp_receive_reset', kind: 'receive-reset' },
];

const AF_INET = 2;
const AF_INET6 = 10;
/** include/linux/trace_events.h enum trace_flag_type: HARDIRQ 0x08, SOFTIRQ 0x10, NMI 0x40. */
const INTERRUPT_FLAGS = 0x08 | 0x10 | 0x40;

type Decode = (buf: Buffer, off: number, tsNs: number, cpu: number) => RawTcpEvent | null;

/** IPv4 text by the address's 32-bit value: loopback tests see the same few addresses 10^5 times. */
const v4Cache = new Map<number, string>();
function ipv4At(buf: Buffer, off: number): string {
  const key = buf.readUInt32LE(off);
  let text = v4Cache.get(key);
  if (text === undefined) {
    text = formatIpv4(buf, off);
    if (v4Cache.size > 65536) v4Cache.clear();
    v4Cache.set(key, text);
  }
  return text;
}

function pointerHex(buf: Buffer, off: number): string {
  const lo = buf.readUInt32LE(off);
  const hi = buf.readUInt32LE(off + 4);
  return hi === 0 ? lo.toString(16) : hi.toString(16) + lo.toString(16).padStart(8, '0');
}

function offsetOf(format: EventFormat, name: string): number {
  return requireField(format, name).offset;
}

function optionalField(format: EventFormat, name: string): FieldLayout | undefined {
  return format.fields.get(name);
}

/** Fields shared by the tracepoints that carry family/sport/dport/saddr/daddr(_v6). */
function tupleReader(format: EventFormat) {
  const family = offsetOf(format, 'family');
  const sport = offsetOf(format, 'sport');
  const dport = offsetOf(format, 'dport');
  const saddr = offsetOf(format, 'saddr');
  const daddr = offsetOf(format, 'daddr');
  const saddr6 = offsetOf(format, 'saddr_v6');
  const daddr6 = offsetOf(format, 'daddr_v6');
  return (buf: Buffer, off: number) => {
    const fam: AddressFamily = buf.readUInt16LE(off + family) === AF_INET6 ? 6 : 4;
    return {
      family: fam,
      localPort: buf.readUInt16LE(off + sport),
      remotePort: buf.readUInt16LE(off + dport),
      localAddress: fam === 4 ? ipv4At(buf, off + saddr) : formatIpv6(buf, off + saddr6),
      remoteAddress: fam === 4 ? ipv4At(buf, off + daddr) : formatIpv6(buf, off + daddr6),
    };
  };
}

/** Build the decoder for one tracepoint from its format. */
export function buildDecoder(spec: TracepointSpec, format: EventFormat): Decode {
  const flagsOff = offsetOf(format, 'common_flags');
  const pidOff = offsetOf(format, 'common_pid');
  const skaddrOff = offsetOf(format, 'skaddr');
  const base = (buf: Buffer, off: number, tsNs: number, cpu: number) => ({
    kind: spec.kind,
    tsNs,
    cpu,
    tid: buf.readInt32LE(off + pidOff),
    inInterrupt: (buf[off + flagsOff]! & INTERRUPT_FLAGS) !== 0,
    skaddr: pointerHex(buf, off + skaddrOff),
    reason: null,
    count: null,
    comm: null,
    detail: null,
  });
  switch (spec.kind) {
    case 'state': {
      const tuple = tupleReader(format);
      const protocol = offsetOf(format, 'protocol');
      const oldOff = offsetOf(format, 'oldstate');
      const newOff = offsetOf(format, 'newstate');
      return (buf, off, tsNs, cpu) => {
        // IPPROTO_TCP only: SCTP and the MPTCP meta-socket use the same tracepoint.
        if (buf.readUInt16LE(off + protocol) !== 6) return null;
        return { ...base(buf, off, tsNs, cpu), ...tuple(buf, off), oldState: buf.readInt32LE(off + oldOff), newState: buf.readInt32LE(off + newOff) };
      };
    }
    case 'retransmit': {
      const tuple = tupleReader(format);
      const state = offsetOf(format, 'state');
      return (buf, off, tsNs, cpu) => {
        const s = buf.readInt32LE(off + state);
        return { ...base(buf, off, tsNs, cpu), ...tuple(buf, off), oldState: s, newState: s };
      };
    }
    case 'retransmit-synack':
    case 'receive-reset': {
      const tuple = tupleReader(format);
      return (buf, off, tsNs, cpu) => ({ ...base(buf, off, tsNs, cpu), ...tuple(buf, off), oldState: 0, newState: 0 });
    }
    case 'send-reset': {
      // saddr/daddr are a struct sockaddr_in or sockaddr_in6 (28 bytes): family, port (big
      // endian), then the IPv4 address at 4 or the IPv6 address at 8. src is our side.
      const saddr = offsetOf(format, 'saddr');
      const daddr = offsetOf(format, 'daddr');
      const state = optionalField(format, 'state');
      const reason = optionalField(format, 'reason');
      const reasonNames = symbolicNames(format, 'reason');
      const sockaddr = (buf: Buffer, at: number) => {
        const fam = buf.readUInt16LE(at);
        const port = buf.readUInt16BE(at + 2);
        if (fam === AF_INET) return { family: 4 as const, port, address: ipv4At(buf, at + 4) };
        if (fam === AF_INET6) return { family: 6 as const, port, address: formatIpv6(buf, at + 8) };
        return { family: 4 as const, port, address: '0.0.0.0' };
      };
      return (buf, off, tsNs, cpu) => {
        const src = sockaddr(buf, off + saddr);
        const dst = sockaddr(buf, off + daddr);
        const s = state === undefined ? 0 : buf.readInt32LE(off + state.offset);
        let reasonName: string | null = null;
        if (reason !== undefined) {
          const n = buf.readUInt32LE(off + reason.offset);
          reasonName = reasonNames.get(n) ?? `reason ${n}`;
        }
        return {
          ...base(buf, off, tsNs, cpu),
          family: src.family,
          localAddress: src.address,
          localPort: src.port,
          remoteAddress: dst.address,
          remotePort: dst.port,
          oldState: s,
          newState: s,
          reason: reasonName,
        };
      };
    }
  }
}
