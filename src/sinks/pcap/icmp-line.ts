/**
 * An ICMP or ICMPv6 error that quotes a TCP segment, as tcpdump -nn words it (print-icmp.c,
 * print-icmp6.c), followed by the quoted connection in brackets (tcpdiag's addition).
 */
import { formatIpv6 } from '../../model/address.js';
import type { DecodedTcp } from '../../analysis/pcap/decode.js';

function v4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

const V4_UNREACH: readonly string[] = [
  'net %s unreachable', 'host %s unreachable', '%s protocol 6 unreachable', '%s tcp port %p unreachable',
  '%s unreachable - need to frag', '%s unreachable - source route failed', 'net %s unreachable - unknown',
  'host %s unreachable - unknown', '%s unreachable - source host isolated', 'net %s unreachable - admin prohibited',
  'host %s unreachable - admin prohibited', 'net %s unreachable - tos prohibited', 'host %s unreachable - tos prohibited',
  'host %s unreachable - admin prohibited filter', 'host %s unreachable - host precedence violation',
  'host %s unreachable - precedence cutoff',
];

function v4Text(t: DecodedTcp, dst: string): string {
  switch (t.icmpType) {
    case 3: {
      if (t.icmpCode === 4 && t.icmpMtu > 0) return `${dst} unreachable - need to frag (mtu ${t.icmpMtu})`;
      const form = V4_UNREACH[t.icmpCode] ?? `${dst} unreachable - #${t.icmpCode}`;
      return form.replace('%s', dst).replace('%p', String(t.dstPort));
    }
    case 4:
      return 'source quench';
    case 5:
      return `redirect ${dst}`;
    case 11:
      return t.icmpCode === 1 ? 'ip reassembly time exceeded' : 'time exceeded in-transit';
    default:
      return 'parameter problem';
  }
}

function v6Text(t: DecodedTcp, dst: string, src: string): string {
  switch (t.icmpType) {
    case 1: {
      const forms: readonly string[] = [
        `no route to ${dst}`, `${dst} unreachable prohibited`, `beyond scope of source address ${src}`,
        `unreachable address ${dst}`, `${dst} tcp port ${t.dstPort} unreachable`, `${dst} unreachable, source address failed policy`,
        `${dst} unreachable, reject route`,
      ];
      return `destination unreachable, ${forms[t.icmpCode] ?? `unknown unreach code (${t.icmpCode})`}`;
    }
    case 2:
      return `packet too big, mtu ${t.icmpMtu}`;
    case 3:
      return t.icmpCode === 1 ? 'time exceeded reassembly' : `time exceeded in-transit for ${dst}`;
    default:
      return 'parameter problem';
  }
}

/** "IP 192.0.2.254 > 10.30.0.1: ICMP host 203.0.113.10 unreachable - admin prohibited filter, length 68 [...]" */
export function icmpErrorText(t: DecodedTcp): string {
  const quoted = t.family === 4
    ? `${v4(t.src4)}.${t.srcPort} > ${v4(t.dst4)}.${t.dstPort}`
    : `${formatIpv6(Buffer.from(t.src6, 'hex'))}.${t.srcPort} > ${formatIpv6(Buffer.from(t.dst6, 'hex'))}.${t.dstPort}`;
  if (t.icmpFamily === 4) {
    return `IP ${v4(t.icmpFrom4)} > ${v4(t.icmpTo4)}: ICMP ${v4Text(t, v4(t.dst4))}, length ${t.icmpLen} [quotes ${quoted}]`;
  }
  const from = formatIpv6(Buffer.from(t.icmpFrom6, 'hex'));
  const to = formatIpv6(Buffer.from(t.icmpTo6, 'hex'));
  const dst = formatIpv6(Buffer.from(t.dst6, 'hex'));
  const src = formatIpv6(Buffer.from(t.src6, 'hex'));
  return `IP6 ${from} > ${to}: ICMP6, ${v6Text(t, dst, src)}, length ${t.icmpLen} [quotes ${quoted}]`;
}
