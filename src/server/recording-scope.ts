/**
 * What an escalation is narrowed to: the alert's scope (a listener `127.0.0.1:8080`, a peer
 * address) or a finding's subject, as one ConnFilter that the trace (tracefs filters on ports,
 * the rest in user space) and the capture (a BPF program) both apply. A listener is its port on
 * either end (its accepted connections and, on this host, their clients) and its address unless
 * it listens on every address; a peer is its address on either end.
 */
import type { ConnExpr, ConnFilter } from '../model/conn-filter.js';
import { allOf, eitherAddress, eitherPort } from '../model/conn-filter.js';
import { isIPv4, isIPv6, parseCidr } from '../model/address.js';
import type { AlertTransition } from '../model/alert.js';
import type { Finding } from '../model/finding.js';
import type { RecordingScope } from '../model/recording.js';

interface EndpointText {
  readonly address: string | null;
  readonly port: number | null;
}

/** `127.0.0.1:8080`, `[::1]:8080`, `*:8080`, `10.0.0.5`, `2001:db8::1`; null for anything else. */
export function parseEndpointText(text: string): EndpointText | null {
  const t = text.trim();
  const port = (p: string): number | null => {
    const n = Number(p);
    return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : null;
  };
  let m = /^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/.exec(t);
  if (m !== null && isIPv6(m[1]!) && port(m[2]!) !== null) return { address: m[1]!, port: port(m[2]!) };
  m = /^([0-9.]+|\*):(\d{1,5})$/.exec(t);
  if (m !== null && (m[1] === '*' || isIPv4(m[1]!)) && port(m[2]!) !== null) return { address: m[1] === '*' ? null : m[1]!, port: port(m[2]!) };
  if (isIPv4(t) || isIPv6(t)) return { address: t, port: null };
  return null;
}

const WILDCARDS = new Set(['0.0.0.0', '::', '::ffff:0.0.0.0']);

/** The filter of a scope; the host's is empty (everything). */
export function scopeFilter(scope: RecordingScope): ConnFilter {
  if (scope.kind === 'host' || scope.value === null) return {};
  const e = parseEndpointText(scope.value);
  if (e === null) return {};
  const parts: ConnExpr[] = [];
  if (e.port !== null) parts.push(eitherPort(e.port));
  if (e.address !== null && !WILDCARDS.has(e.address)) parts.push(eitherAddress(parseCidr(e.address)));
  return parts.length === 0 ? {} : { expr: allOf(parts) };
}

export function scopeOfAlert(t: AlertTransition): RecordingScope {
  return t.scope === null ? { kind: 'host', value: null } : { kind: t.scopeKind, value: t.scope };
}

/**
 * A finding's subject as a scope: an endpoint with a port is a listener, a bare address a peer;
 * a subject that names neither (a process, a sysctl, the host) is the host. A subject that
 * mentions one endpoint among words ("nginx [812] on 0.0.0.0:80") is that endpoint.
 */
export function scopeOfFinding(f: Finding): RecordingScope {
  const whole = parseEndpointText(f.subject);
  const found = whole ?? f.subject.split(/[\s,;()]+/).map(parseEndpointText).find((e) => e !== null) ?? null;
  if (found === null) return { kind: 'host', value: null };
  if (found.port !== null) {
    const address = found.address ?? '*';
    return { kind: 'listener', value: address.includes(':') ? `[${address}]:${found.port}` : `${address}:${found.port}` };
  }
  return { kind: 'peer', value: found.address };
}

export function scopeKey(scope: RecordingScope): string {
  return scope.value === null ? scope.kind : `${scope.kind}:${scope.value}`;
}
