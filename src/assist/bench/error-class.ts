/**
 * Failed requests grouped the way a user names them: refused, timeout,
 * reset, unreachable, plus what a load generator adds: the server closed before replying, a
 * reply that does not parse, an HTTP status >= 400 (as wrk counts "Non-2xx or 3xx
 * responses"), running out of local ports or file descriptors, and (https) a TLS handshake or
 * certificate check that failed.
 */
import { isErrnoException } from '../../errors.js';
import { MalformedResponseError } from './http-response.js';

export type ErrorClass =
  | 'refused'
  | 'timeout'
  | 'reset'
  | 'unreachable'
  | 'closed'
  | 'malformed'
  | 'http'
  | 'ports'
  | 'fds'
  | 'tls'
  | 'other';

export const ERROR_CLASSES: readonly ErrorClass[] = [
  'refused', 'timeout', 'reset', 'unreachable', 'closed', 'malformed', 'http', 'ports', 'fds', 'tls', 'other',
];

const BY_ERRNO: Readonly<Record<string, ErrorClass>> = {
  ECONNREFUSED: 'refused',
  ETIMEDOUT: 'timeout',
  TCPDIAG_TIMEOUT: 'timeout',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  ECONNABORTED: 'reset',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  EHOSTDOWN: 'unreachable',
  ENETDOWN: 'unreachable',
  // connect() found no free local port for this destination (ip_local_port_range exhausted).
  EADDRNOTAVAIL: 'ports',
  EADDRINUSE: 'ports',
  EMFILE: 'fds',
  ENFILE: 'fds',
  // The load loop's own code: the peer closed the connection before the reply was complete.
  TCPDIAG_CLOSED: 'closed',
};

/**
 * Node's TLS errors: its own (ERR_TLS_CERT_ALTNAME_INVALID, ERR_SSL_WRONG_VERSION_NUMBER from
 * OpenSSL) and OpenSSL's certificate verification codes (DEPTH_ZERO_SELF_SIGNED_CERT,
 * CERT_HAS_EXPIRED, UNABLE_TO_VERIFY_LEAF_SIGNATURE...).
 */
const TLS_CODE = /^ERR_(TLS|SSL)_|CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY|DECRYPT)/;

export function classifyError(error: unknown): ErrorClass {
  if (error instanceof MalformedResponseError) return 'malformed';
  if (isErrnoException(error) && TLS_CODE.test(error.code ?? '')) return 'tls';
  if (isErrnoException(error)) return BY_ERRNO[error.code ?? ''] ?? 'other';
  return 'other';
}
