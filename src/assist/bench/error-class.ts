/**
 * Failed requests grouped the way a user names them: refused, timeout,
 * reset, unreachable, plus what a load generator adds: the server closed before replying, a
 * reply that does not parse, an HTTP status >= 400 (as wrk counts "Non-2xx or 3xx
 * responses"), and running out of local ports or file descriptors.
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
  | 'other';

export const ERROR_CLASSES: readonly ErrorClass[] = [
  'refused', 'timeout', 'reset', 'unreachable', 'closed', 'malformed', 'http', 'ports', 'fds', 'other',
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

export function classifyError(error: unknown): ErrorClass {
  if (error instanceof MalformedResponseError) return 'malformed';
  if (isErrnoException(error)) return BY_ERRNO[error.code ?? ''] ?? 'other';
  return 'other';
}
