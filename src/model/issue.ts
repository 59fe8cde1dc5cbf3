/**
 * What a source or a session degraded without failing: "no root, so no tcp_info", "the kernel
 * lost 120 events". A value with a stable code (from errors.ts), never a string that callers
 * match with startsWith; `hint` is what to run to get the rest back.
 */
import type { ErrorCode } from '../errors.js';
import type { TcpdiagError } from '../errors.js';

export interface Issue {
  readonly code: ErrorCode;
  readonly message: string;
  readonly hint?: string;
}

export function issue(code: ErrorCode, message: string, hint?: string): Issue {
  return hint === undefined ? { code, message } : { code, message, hint };
}

/** The issue an expected error stands for (a source that could not run at all). */
export function issueFromError(error: TcpdiagError): Issue {
  return issue(error.code, error.message, error.hint);
}
