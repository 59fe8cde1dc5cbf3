/**
 * What `tcpdiag bench TARGET` points at: an http:// URL (HTTP/1.1 keep-alive mode) or
 * HOST:PORT / tcp://HOST:PORT / [IPv6]:PORT (raw TCP mode), and the request bytes sent to it.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { UsageError, TcpdiagError, describeSystemError } from '../../errors.js';

export type BenchTarget =
  /** tls: https:// (TLS over TCP, certificates checked unless --insecure). */
  | { readonly kind: 'http'; readonly host: string; readonly port: number; readonly path: string; readonly hostHeader: string; readonly tls: boolean }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number };

const TARGET_HINT = 'write http(s)://HOST[:PORT]/PATH for HTTP, or HOST:PORT (or [IPv6]:PORT) for raw TCP';

export function parseBenchTarget(text: string): BenchTarget {
  const trimmed = text.trim();
  if (/^https?:\/\//i.test(trimmed)) {
    const tls = /^https:/i.test(trimmed);
    let url: URL;
    try {
      url = new URL(trimmed);
    } catch {
      throw new UsageError(`"${text}" is not a valid URL`, TARGET_HINT);
    }
    const port = url.port === '' ? (tls ? 443 : 80) : Number(url.port);
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    if (host === '') throw new UsageError(`"${text}" has no host`, TARGET_HINT);
    return { kind: 'http', host, port, path: `${url.pathname}${url.search}` || '/', hostHeader: url.host, tls };
  }
  const rest = trimmed.replace(/^tcp:\/\//i, '');
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(rest);
  if (match === null) throw new UsageError(`"${text}" is not a bench target`, TARGET_HINT);
  const port = Number(match[3]);
  if (port < 1 || port > 65535) throw new UsageError(`"${text}": port must be 1-65535`, TARGET_HINT);
  return { kind: 'tcp', host: match[1] ?? match[2] ?? '', port };
}

/** Resolve once up front: the load loop connects to one numeric address (connectWithMss needs one). */
export async function resolveTargetAddress(host: string): Promise<string> {
  if (isIP(host) !== 0) return host;
  try {
    return (await lookup(host)).address;
  } catch (error: unknown) {
    throw new TcpdiagError('TCPDIAG_DNS_FAILED', `cannot resolve ${host}: ${describeSystemError(error)}`, {
      hint: 'check the name (getent hosts NAME) or use a numeric address',
      cause: error,
    });
  }
}

/** A payload of `bytes` bytes of printable filler (no CR/LF, so line protocols see one line). */
export function fillerPayload(bytes: number): Buffer {
  const pattern = Buffer.from('tcpdiag-bench-0123456789abcdefghijklmnopqrstuvwxyz', 'latin1');
  const payload = Buffer.allocUnsafe(bytes);
  for (let i = 0; i < bytes; i += pattern.length) pattern.copy(payload, i, 0, Math.min(pattern.length, bytes - i));
  return payload;
}

export interface HttpRequestSpec {
  readonly method: string;
  readonly path: string;
  readonly hostHeader: string;
  readonly headers: readonly string[];
  readonly body: Buffer | null;
}

/** The exact request bytes, built once and written for every request. */
export function buildHttpRequest(spec: HttpRequestSpec): Buffer {
  if (!/^[A-Z]{1,20}$/.test(spec.method)) throw new UsageError(`"${spec.method}" is not an HTTP method`, 'write GET, POST, HEAD, PUT ...');
  const lines = [`${spec.method} ${spec.path} HTTP/1.1`, `Host: ${spec.hostHeader}`, 'User-Agent: tcpdiag-bench'];
  for (const header of spec.headers) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+:[^\r\n]*$/.test(header)) {
      throw new UsageError(`bad header ${JSON.stringify(header)}`, 'write --header "Name: value"');
    }
    lines.push(header);
  }
  if (spec.body !== null) lines.push(`Content-Length: ${spec.body.length}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return spec.body === null ? head : Buffer.concat([head, spec.body]);
}
