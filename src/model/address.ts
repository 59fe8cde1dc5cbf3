/**
 * IP addresses and CIDR blocks, IPv4 and IPv6, as 16-byte values so one matcher serves both.
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, what a dual-stack listener sees) match IPv4 CIDRs.
 */
import { UsageError } from '../errors.js';

const DOTTED_QUAD = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HEXTET = /^[0-9a-fA-F]{1,4}$/;

/** A dotted-quad IPv4 address (no leading zeros, as inet_pton and node:net accept). */
export function isIPv4(text: string): boolean {
  return DOTTED_QUAD.test(text);
}

/**
 * An IPv6 address as inet_pton reads it (RFC 4291 section 2.2: hextets, one `::`, an optional
 * trailing dotted quad), with an optional RFC 4007 zone (`fe80::1%eth0`).
 */
export function isIPv6(text: string): boolean {
  const zone = text.indexOf('%');
  const address = zone >= 0 ? text.slice(0, zone) : text;
  if (zone >= 0 && (zone === text.length - 1 || /[\s%]/.test(text.slice(zone + 1)))) return false;
  const halves = address.split('::');
  if (halves.length > 2) return false;
  let groups = 0;
  for (let h = 0; h < halves.length; h++) {
    const half = halves[h]!;
    if (half === '') continue;
    const parts = half.split(':');
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      const lastOfAll = h === halves.length - 1 && i === parts.length - 1;
      if (lastOfAll && part.includes('.')) {
        if (!isIPv4(part)) return false;
        groups += 2;
      } else if (HEXTET.test(part)) groups++;
      else return false;
    }
  }
  return halves.length === 2 ? groups <= 7 : groups === 8;
}

/** 4, 6, or 0 when `text` is not an IP address (node:net's isIP, without node:). */
export function ipFamily(text: string): 0 | 4 | 6 {
  return isIPv4(text) ? 4 : isIPv6(text) ? 6 : 0;
}

export interface Cidr {
  readonly text: string;
  readonly family: 4 | 6;
  /** Address bytes (4 or 16). */
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

export function ipv4ToBytes(address: string): Uint8Array {
  const parts = address.split('.').map(Number);
  return Uint8Array.from(parts);
}

export function ipv6ToBytes(address: string): Uint8Array {
  let text = address;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  const out = new Uint8Array(16);
  // A trailing dotted quad (::ffff:1.2.3.4) becomes two hextets.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = ipv4ToBytes(tail);
    text = `${text.slice(0, lastColon + 1)}${(((v4[0] ?? 0) << 8) | (v4[1] ?? 0)).toString(16)}:${(((v4[2] ?? 0) << 8) | (v4[3] ?? 0)).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const groups =
    rest === undefined
      ? headGroups
      : [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

/** Parse "10.0.0.0/8", "::1", "2001:db8::/32", "127.0.0.1" (a bare address is a /32 or /128). */
export function parseCidr(text: string): Cidr {
  const [address = '', prefixText] = text.trim().split('/');
  const family = ipFamily(address);
  if (family === 0) {
    throw new UsageError(`"${text}" is not an IP address or CIDR block`, 'write it like 10.0.0.0/8, 192.168.1.5 or 2001:db8::/32');
  }
  const max = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) {
    throw new UsageError(`"${text}": prefix length must be an integer 0-${max}`);
  }
  return { text, family, bytes: family === 4 ? ipv4ToBytes(address) : ipv6ToBytes(address), prefix };
}

/** Does `address` (textual IPv4 or IPv6) fall inside `cidr`? */
export function cidrContains(cidr: Cidr, address: string): boolean {
  let bytes: Uint8Array;
  if (isIPv4(address)) bytes = ipv4ToBytes(address);
  else if (isIPv6(address)) bytes = ipv6ToBytes(address);
  else return false;
  if (cidr.family === 4 && bytes.length === 16) {
    if (!isV4Mapped(bytes)) return false;
    bytes = bytes.subarray(12);
  }
  if (cidr.family === 6 && bytes.length === 4) return false;
  return prefixEqual(cidr.bytes, bytes, cidr.prefix);
}

function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

function prefixEqual(a: Uint8Array, b: Uint8Array, prefix: number): boolean {
  const full = prefix >> 3;
  for (let i = 0; i < full; i++) if (a[i] !== b[i]) return false;
  const rem = prefix & 7;
  if (rem === 0) return true;
  const mask = (0xff << (8 - rem)) & 0xff;
  return ((a[full] ?? 0) & mask) === ((b[full] ?? 0) & mask);
}

/** Compact textual form of 16 IPv6 bytes (RFC 5952: lower case, longest zero run as ::). */
export function formatIpv6(b: Uint8Array, offset = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(((b[offset + i * 2] ?? 0) << 8) | (b[offset + i * 2 + 1] ?? 0));
  // IPv4-mapped: ::ffff:a.b.c.d, as ss and the kernel print it.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${b[offset + 12]}.${b[offset + 13]}.${b[offset + 14]}.${b[offset + 15]}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const left = hex.slice(0, bestStart).join(':');
  const right = hex.slice(bestStart + bestLen).join(':');
  return `${left}::${right}`;
}

export function formatIpv4(b: Uint8Array, offset = 0): string {
  return `${b[offset]}.${b[offset + 1]}.${b[offset + 2]}.${b[offset + 3]}`;
}
