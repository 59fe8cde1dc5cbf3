/**
 * What `tcpdiag probe` checks: HOST:PORT (DNS + TCP connect) or an http/https URL (DNS + TCP
 * + TLS + HTTP request).
 */
import { UsageError } from '../../errors.js';
import { parseHostPort } from '../client/endpoint.js';

export interface ProbeTarget {
  readonly kind: 'tcp' | 'http' | 'https';
  readonly host: string;
  readonly port: number;
  /** Path and query for HTTP(S). */
  readonly path: string;
  /** The target as the user wrote it, normalised. */
  readonly display: string;
}

export function parseProbeTarget(text: string): ProbeTarget {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new UsageError(`"${text}" is not a valid URL`, 'write https://example.com/health or HOST:PORT');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new UsageError(`probe speaks http and https, not ${url.protocol.slice(0, -1)}`, 'for another protocol probe HOST:PORT (DNS + TCP connect)');
    }
    const kind = url.protocol === 'https:' ? 'https' : 'http';
    // URL keeps IPv6 hosts in brackets; sockets want them bare.
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = url.port === '' ? (kind === 'https' ? 443 : 80) : Number(url.port);
    return { kind, host, port, path: `${url.pathname}${url.search}`, display: url.toString() };
  }
  const { host, port } = parseHostPort(text, 'target');
  if (port === 0) throw new UsageError('target: port 0 cannot be probed', 'write HOST:PORT with a port 1-65535');
  return { kind: 'tcp', host, port, path: '/', display: text };
}
