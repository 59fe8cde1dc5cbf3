/**
 * HOST:PORT as users type it, for IPv4, names and IPv6 (`[::1]:8080`), and back to text.
 * Shared by client, probe and proxy.
 */
import { isIP } from 'node:net';
import { UsageError } from '../../errors.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

const HINT = 'write HOST:PORT, e.g. 127.0.0.1:8080, example.com:443 or [::1]:8080';

/** Parse "host:port", "[v6]:port"; a bare host takes `defaultPort` when one is given. */
export function parseHostPort(text: string, what = 'address', defaultPort?: number): HostPort {
  const trimmed = text.trim();
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(trimmed);
  if (bracketed) {
    host = bracketed[1] ?? '';
    portText = bracketed[2];
    if (isIP(host) !== 6) throw new UsageError(`${what}: "${host}" in brackets is not an IPv6 address`, HINT);
  } else if (isIP(trimmed) === 6) {
    // A bare IPv6 address has no port: "::1" is a host, never host ":" + port "1".
    host = trimmed;
  } else {
    const colon = trimmed.lastIndexOf(':');
    host = colon < 0 ? trimmed : trimmed.slice(0, colon);
    portText = colon < 0 ? undefined : trimmed.slice(colon + 1);
  }
  if (host === '' || /[\s/]/.test(host)) throw new UsageError(`${what}: "${text}" has no valid host`, HINT);
  if (portText === undefined || portText === '') {
    if (defaultPort !== undefined) return { host, port: defaultPort };
    throw new UsageError(`${what}: "${text}" has no port`, HINT);
  }
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new UsageError(`${what}: "${portText}" is not a port (0-65535)`, HINT);
  return { host, port };
}

/**
 * "127.0.0.1:80", "[::1]:80" (RFC 3986 brackets for IPv6). An IPv4-mapped address on a
 * dual-stack socket (::ffff:10.0.0.1, RFC 4291 2.5.5.2) is shown as the IPv4 it is.
 */
export function formatHostPort(host: string, port: number): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  if (mapped) return `${mapped[1]}:${port}`;
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}
