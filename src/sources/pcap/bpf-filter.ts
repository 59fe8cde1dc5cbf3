/**
 * A ConnFilter as a libpcap filter expression (pcap-filter(7)), which tcpdump compiles to a
 * BPF program the kernel runs on every packet before copying it: the whole filter is applied
 * in the kernel. For a packet, `src`/`sport` are its sender, `dst`/`dport` its receiver, as in
 * tcpdump. States and owners belong to sockets, not packets: the caller refuses them.
 */
import type { Cidr } from '../../model/address.js';
import { formatIpv4, formatIpv6 } from '../../model/address.js';
import type { ConnExpr, ConnFilter, PortCond } from '../../model/conn-filter.js';
import { isTrue } from '../../model/conn-filter.js';

/** pcap has no literal for false. */
const NEVER = '(tcp and not tcp)';

/** The block's network address: libpcap refuses a "net" with host bits set. */
function network(c: Cidr): string {
  const bytes = Uint8Array.from(c.bytes, (b, i) => {
    const bits = Math.max(0, Math.min(8, c.prefix - i * 8));
    return b & ((0xff << (8 - bits)) & 0xff);
  });
  const text = c.family === 4 ? formatIpv4(bytes) : formatIpv6(bytes);
  return c.prefix === (c.family === 4 ? 32 : 128) ? `host ${text}` : `net ${text}/${c.prefix}`;
}

function portText(p: PortCond): string {
  const side = p.side;
  switch (p.op) {
    case 'eq': return `${side} port ${p.port}`;
    case 'ne': return `not ${side} port ${p.port}`;
    case 'ge': return `${side} portrange ${p.port}-65535`;
    case 'le': return `${side} portrange 0-${p.port}`;
    case 'lt': return p.port === 0 ? NEVER : `${side} portrange 0-${p.port - 1}`;
    case 'gt': return p.port === 65535 ? NEVER : `${side} portrange ${p.port + 1}-65535`;
  }
}

/** null: always true. */
function bpfText(expr: ConnExpr): string | null {
  switch (expr.kind) {
    case 'host': {
      const parts = [expr.cidr === null ? null : `${expr.side} ${network(expr.cidr)}`, expr.port === null ? null : `${expr.side} port ${expr.port}`];
      return join(parts, 'and');
    }
    case 'port':
      return portText(expr);
    case 'and':
      return join(expr.items.map(bpfText), 'and');
    case 'or': {
      if (expr.items.length === 0) return NEVER;
      const items = expr.items.map(bpfText);
      return items.includes(null) ? null : join(items, 'or');
    }
    case 'not': {
      const inner = bpfText(expr.item);
      return inner === null ? NEVER : `not ${inner}`;
    }
  }
}

function join(parts: ReadonlyArray<string | null>, op: 'and' | 'or'): string | null {
  const present = parts.filter((p): p is string => p !== null);
  if (present.length === 0) return null;
  return present.length === 1 ? present[0]! : `(${present.join(` ${op} `)})`;
}

/** The filter's pcap expression, or null when it selects every packet. */
export function connFilterToPcap(filter: ConnFilter): string | null {
  const families = filter.families ?? [];
  const family = families.length === 1 ? (families[0] === 4 ? 'ip' : 'ip6') : null;
  const endpoints = filter.expr === undefined || isTrue(filter.expr) ? null : bpfText(filter.expr);
  // Port qualifiers also match UDP and SCTP: the endpoint conditions are about TCP.
  return join([family, endpoints === null ? null : 'tcp', endpoints], 'and');
}

/** The user's own pcap words and the filter's, both required. */
export function combinePcapFilters(words: readonly string[], filter: ConnFilter | undefined): string[] {
  const ours = filter === undefined ? null : connFilterToPcap(filter);
  if (ours === null) return [...words];
  return words.length === 0 ? [ours] : ['(', ...words, ')', 'and', ours];
}
