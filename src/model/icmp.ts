/**
 * ICMP (RFC 792, RFC 1191) and ICMPv6 (RFC 4443) error messages: their names and what each
 * says about a TCP connection whose segment it quotes.
 */

/** What an error means for the connection it quotes. */
export type IcmpErrorKind =
  /** A filter refused the segment: "administratively prohibited", or port unreachable for TCP (Linux answers a closed TCP port with RST, never ICMP, so an ICMP port unreachable comes from a REJECT rule). */
  | 'filtered'
  /** The path's MTU is smaller than the packet: fragmentation needed (RFC 1191) / packet too big (RFC 8201). */
  | 'mtu'
  /** No route or no host: net/host unreachable, address unreachable, no route (ICMPv6). */
  | 'unreachable'
  /** The TTL or hop limit ran out on the way (time exceeded in transit): a routing loop, or a sender's TTL shorter than the path. */
  | 'ttl'
  | 'other';

export interface IcmpErrorInfo {
  readonly name: string;
  readonly kind: IcmpErrorKind;
}

const V4_UNREACHABLE: readonly string[] = [
  'net-unreachable', 'host-unreachable', 'protocol-unreachable', 'port-unreachable', 'fragmentation-needed',
  'source-route-failed', 'net-unknown', 'host-unknown', 'source-host-isolated', 'net-prohibited', 'host-prohibited',
  'net-unreachable-for-tos', 'host-unreachable-for-tos', 'communication-prohibited', 'host-precedence-violation',
  'precedence-cutoff',
];
const V6_UNREACHABLE: readonly string[] = [
  'no-route', 'administratively-prohibited', 'beyond-scope', 'address-unreachable', 'port-unreachable',
  'source-address-failed-policy', 'reject-route', 'source-routing-header-error',
];

/** ICMPv4 types that quote the datagram that caused them (RFC 792): unreachable, source quench, redirect, time exceeded, parameter problem. */
export function isIcmp4Error(type: number): boolean {
  return type === 3 || type === 4 || type === 5 || type === 11 || type === 12;
}

/** ICMPv6 error messages are types 0-127 (RFC 4443 2.1); 1-4 are the defined ones. */
export function isIcmp6Error(type: number): boolean {
  return type >= 1 && type <= 4;
}

export function icmpErrorInfo(family: 4 | 6, type: number, code: number): IcmpErrorInfo {
  if (family === 4) {
    switch (type) {
      case 3: {
        const name = V4_UNREACHABLE[code] ?? `unreachable-code-${code}`;
        if (code === 4) return { name, kind: 'mtu' };
        if (code === 3 || code === 9 || code === 10 || code === 13) return { name, kind: 'filtered' };
        if (code === 0 || code === 1 || code === 6 || code === 7 || code === 11 || code === 12) return { name, kind: 'unreachable' };
        return { name, kind: 'other' };
      }
      case 4:
        return { name: 'source-quench', kind: 'other' };
      case 5:
        return { name: 'redirect', kind: 'other' };
      case 11:
        return { name: code === 1 ? 'reassembly-time-exceeded' : 'ttl-exceeded', kind: code === 1 ? 'other' : 'ttl' };
      case 12:
        return { name: 'parameter-problem', kind: 'other' };
      default:
        return { name: `type-${type}-code-${code}`, kind: 'other' };
    }
  }
  switch (type) {
    case 1: {
      const name = V6_UNREACHABLE[code] ?? `unreachable-code-${code}`;
      if (code === 1 || code === 4 || code === 5 || code === 6) return { name, kind: 'filtered' };
      if (code === 0 || code === 2 || code === 3) return { name, kind: 'unreachable' };
      return { name, kind: 'other' };
    }
    case 2:
      return { name: 'packet-too-big', kind: 'mtu' };
    case 3:
      return { name: code === 1 ? 'reassembly-time-exceeded' : 'hop-limit-exceeded', kind: code === 1 ? 'other' : 'ttl' };
    case 4:
      return { name: 'parameter-problem', kind: 'other' };
    default:
      return { name: `type-${type}-code-${code}`, kind: 'other' };
  }
}
