/**
 * Which listener a connection's local end belongs to, from the listener table: the listener on
 * the same port and address, else the wildcard one on that port (0.0.0.0, ::), else one of
 * the other family on that port (an IPv6 wildcard listener accepts IPv4 too, unless
 * IPV6_V6ONLY, net/ipv6/af_inet6.c).
 */
import type { ListenerSummary } from '../../model/listener.js';
import type { AddressFamily, Endpoint } from '../../model/socket.js';
import { formatEndpoint } from '../../model/socket.js';
import type { ListenerOf } from './aggregate.js';

const WILDCARD = new Set(['0.0.0.0', '::']);

export function listenerIndex(listeners: readonly ListenerSummary[]): ListenerOf {
  const byPort = new Map<number, { readonly family: AddressFamily; readonly address: string; readonly key: string }[]>();
  for (const l of listeners) {
    let list = byPort.get(l.local.port);
    if (list === undefined) {
      list = [];
      byPort.set(l.local.port, list);
    }
    list.push({ family: l.family, address: l.local.address, key: formatEndpoint(l.local, l.family) });
  }
  return (family: AddressFamily, local: Endpoint): string | null => {
    const list = byPort.get(local.port);
    if (list === undefined) return null;
    const exact = list.find((l) => l.family === family && l.address === local.address);
    if (exact !== undefined) return exact.key;
    return (list.find((l) => l.family === family && WILDCARD.has(l.address)) ?? list.find((l) => WILDCARD.has(l.address)) ?? null)?.key ?? null;
  };
}
