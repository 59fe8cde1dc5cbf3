/**
 * Failures named the way users see them (mission part 3): dns, refused, timeout (SYN
 * unanswered), unreachable, reset, tls, http. One table from errno / OpenSSL codes to classes.
 */
import { describeSystemError, isErrnoException } from '../../errors.js';

export type FailureClass = 'dns' | 'refused' | 'timeout' | 'unreachable' | 'reset' | 'tls' | 'http';

export interface StepError {
  readonly class: FailureClass;
  readonly code: string;
  readonly message: string;
}

const BY_CODE: Record<string, FailureClass> = {
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EAI_FAIL: 'dns',
  ENODATA: 'dns',
  ESERVFAIL: 'dns',
  ECONNREFUSED: 'refused',
  ETIMEDOUT: 'timeout',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  EHOSTDOWN: 'unreachable',
  EADDRNOTAVAIL: 'unreachable',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  ECONNABORTED: 'reset',
};

/**
 * Classify an error thrown during `step`. A reset is a reset whichever step saw it; anything
 * else unknown during TLS is a TLS failure, during HTTP an HTTP failure.
 */
export function classifyError(step: 'dns' | 'connect' | 'tls' | 'http', error: unknown): StepError {
  const code = isErrnoException(error) && error.code !== undefined ? error.code : 'ERROR';
  const rawMessage = error instanceof Error ? error.message : String(error);
  const known = BY_CODE[code];
  const message = known !== undefined && known !== 'dns' ? describeSystemError(error) : rawMessage;
  if (known !== undefined) {
    // A timeout after the handshake is the later step's failure, not an unanswered SYN.
    if (known === 'timeout' && (step === 'tls' || step === 'http')) return { class: step, code, message };
    return { class: known, code, message };
  }
  if (step === 'dns') return { class: 'dns', code, message };
  if (step === 'tls') return { class: 'tls', code, message };
  if (step === 'http') return { class: 'http', code, message };
  return { class: 'unreachable', code, message };
}
