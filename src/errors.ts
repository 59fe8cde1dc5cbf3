/**
 * Every error tcpdiag raises on purpose. Each has a stable `code` (for scripts and tests),
 * a message that says what went wrong, and a `hint` that says what to do, with the exact
 * command where one exists (style guide, habits 5 and 6).
 *
 * Library code throws these; only `src/cli/` turns them into text and exit codes. The codes
 * also name `Issue`s (model/issue.ts): what a source degraded without failing.
 *
 * Platform-neutral (no node: import, no Node types): model/ and the dashboard import it.
 */

/** Every stable code, with what it means. Scripts and tests match on these, never on messages. */
export const ERROR_CODES = {
  TCPDIAG_USAGE: 'a flag, an argument or a filter is malformed',
  TCPDIAG_CONFIG_INVALID: 'the configuration file or environment holds a value the schema does not allow',
  TCPDIAG_FILE_UNREADABLE: 'a file the user named cannot be read',
  TCPDIAG_FILE_REFUSED: 'a file the user named is not a regular file, or is larger than tcpdiag reads for its purpose',
  TCPDIAG_FILE_UNWRITABLE: 'a file the user named cannot be created or written',
  TCPDIAG_FILE_CHANGED: 'a file tcpdiag installs was changed by someone else, and is left as it is',
  TCPDIAG_NEEDS_ROOT: 'the operation needs root or a capability',
  TCPDIAG_TOOL_MISSING: 'an external program tcpdiag drives is not installed',
  TCPDIAG_KERNEL_FEATURE: 'a kernel facility is absent or not mounted',
  TCPDIAG_ADDON_MISSING: 'the native addon is not built: some data comes from a slower or poorer path',
  TCPDIAG_SOURCE_FAILED: 'a source failed while collecting',
  TCPDIAG_MALFORMED_INPUT: 'bytes from outside do not parse',
  TCPDIAG_TIMEOUT: 'a deadline passed',
  TCPDIAG_DNS_FAILED: 'a name did not resolve',
  TCPDIAG_CONNECT_FAILED: 'a TCP connection could not be made',
  TCPDIAG_LISTEN_FAILED: 'a listening socket could not be opened',
  TCPDIAG_NFT_FAILED: 'nft refused a ruleset or a command',
  TCPDIAG_IPTABLES_FAILED: 'iptables refused a rule (the NFQUEUE rule of fault delay)',
  TCPDIAG_BENCH_WORKER: 'a load-generator worker thread failed',
  TCPDIAG_EVENTS_LOST: 'the kernel dropped events before they were read',
  TCPDIAG_TICK_LATE: 'a periodic collection ran later than its schedule',
  TCPDIAG_STOPPED: 'work was started in a lifetime (scope) that had already ended; it was undone',
  TCPDIAG_FIELD_UNAVAILABLE: 'the source that answered cannot give a field that was asked for',
  TCPDIAG_STORE_REFUSED: 'the agent\'s history file is foreign, corrupt or of another schema version, and is left untouched',
  TCPDIAG_UNAUTHORIZED: 'an API request came without the agent\'s bearer token',
  TCPDIAG_NOT_FOUND: 'an API path or record does not exist',
  TCPDIAG_ENGINE_FAILED: 'a fleet engine (a remote-write receiver, a PromQL API, ClickHouse) could not be reached or refused a request',
  TCPDIAG_NOT_CONFIGURED: 'the agent was asked for something it has no configuration for (the fleet view without an engine URL)',
  TCPDIAG_PLAN_REFUSED: 'a change plan is unapproved, self-approved, expired, altered since it was written or approved, or not applied',
  TCPDIAG_ACTION_DISABLED: 'the agent\'s configuration does not enable this action (agent.actions)',
  TCPDIAG_BUSY: 'the agent is already doing as much of this as it is allowed to, or the record is not ready yet',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorDetails {
  readonly hint?: string;
  readonly cause?: unknown;
}

export class TcpdiagError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number = 1;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = details.hint;
  }
}

/** The history file is not a tcpdiag store we can read; it is never overwritten. */
export class StoreRefusedError extends TcpdiagError {
  constructor(path: string, reason: string) {
    super('TCPDIAG_STORE_REFUSED', `refusing the store ${path}: ${reason}`, {
      hint: 'move the file away or pass another --data DIR; tcpdiag never overwrites a file it did not create',
    });
  }
}

/**
 * A change plan cannot be applied or rolled back as asked: it is unapproved, approved by its own
 * author, expired, altered after its hash or approval, or (rollback) not applied. Exit code 3, so
 * a script tells a refusal from a failure.
 */
export class PlanRefusedError extends TcpdiagError {
  override readonly exitCode = 3;
  constructor(message: string, hint: string) {
    super('TCPDIAG_PLAN_REFUSED', message, { hint });
  }
}

/** The user asked for something malformed: a flag, an address, a filter. Exit code 2. */
export class UsageError extends TcpdiagError {
  override readonly exitCode = 2;
  constructor(message: string, hint?: string) {
    super('TCPDIAG_USAGE', message, hint === undefined ? {} : { hint });
  }
}

/** The configuration file or environment holds a value the schema does not allow. */
export class ConfigError extends TcpdiagError {
  override readonly exitCode = 2;
  constructor(message: string, details: ErrorDetails = {}) {
    super('TCPDIAG_CONFIG_INVALID', message, details);
  }
}

/** A file the user named cannot be read (missing, unreadable, a directory). */
export class FileUnreadableError extends TcpdiagError {
  constructor(path: string, cause: unknown) {
    const reason = describeSystemError(cause);
    super('TCPDIAG_FILE_UNREADABLE', `cannot read ${path}: ${reason}`, {
      hint: 'check the path and its permissions',
      cause,
    });
  }
}

/** A file the user asked tcpdiag to write cannot be created (a missing directory, permissions, a full disk). */
export class FileUnwritableError extends TcpdiagError {
  constructor(path: string, cause: unknown) {
    super('TCPDIAG_FILE_UNWRITABLE', `cannot write ${path}: ${describeSystemError(cause)}`, {
      hint: 'check that the directory exists and is writable (ls -ld DIR), and the free space (df -h DIR)',
      cause,
    });
  }
}

/**
 * A file the user named is refused before it is read: not a regular file (a FIFO would block,
 * /dev/zero never ends) or larger than the cap for what it is (platform/read-file.ts).
 */
export class FileRefusedError extends TcpdiagError {
  constructor(path: string, reason: string, hint: string) {
    super('TCPDIAG_FILE_REFUSED', `cannot use ${path}: ${reason}`, { hint });
  }
}

/**
 * The operation needs root (or a capability) and we do not have it. `needs` names what would
 * be enough, e.g. "CAP_NET_RAW (or root): to open a packet socket" (platform/privileges.ts).
 */
export class PrivilegeError extends TcpdiagError {
  constructor(what: string, hint: string, needs = 'root') {
    super('TCPDIAG_NEEDS_ROOT', `${what} needs ${needs}`, { hint });
  }
}

/** An external program tcpdiag drives (ss, tcpdump, nft, bpftrace, tshark) is not installed. */
export class ToolMissingError extends TcpdiagError {
  constructor(tool: string, debianPackage: string) {
    super('TCPDIAG_TOOL_MISSING', `${tool} is not installed`, {
      hint: `install it: apt-get install -y ${debianPackage}`,
    });
  }
}

/** A kernel facility is absent or not mounted (tracefs, BTF, netlink sock_diag). */
export class KernelFeatureError extends TcpdiagError {
  constructor(message: string, hint: string) {
    super('TCPDIAG_KERNEL_FEATURE', message, { hint });
  }
}

/** A source failed while collecting (a /proc file vanished, netlink returned an error). */
export class SourceError extends TcpdiagError {
  constructor(source: string, message: string, details: ErrorDetails = {}) {
    super('TCPDIAG_SOURCE_FAILED', `${source}: ${message}`, details);
  }
}

/** Bytes from outside (a pcap file, a packet, an HTTP request) do not parse. */
export class MalformedInputError extends TcpdiagError {
  /** Byte offset in the input where parsing stopped, when known. */
  readonly offset: number | undefined;
  /** What was wrong, without the input's name or the offset (both are in the message). */
  readonly reason: string;
  constructor(what: string, reason: string, offset?: number, hint?: string) {
    super('TCPDIAG_MALFORMED_INPUT', `${what}: ${reason}${offset === undefined ? '' : ` (at byte ${offset})`}`,
      hint === undefined ? {} : { hint });
    this.offset = offset;
    this.reason = reason;
  }
}

/** A deadline passed; the message says what was being waited for (style guide, habit 7). */
export class TimeoutError extends TcpdiagError {
  constructor(message: string, hint?: string) {
    super('TCPDIAG_TIMEOUT', message, hint === undefined ? {} : { hint });
  }
}

/**
 * Something was started in a scope that had already begun closing (a signal or a stop arrived
 * meanwhile): what it registered has been undone at once. Exit code 130 is not implied: the
 * caller that closed the scope decides the exit code.
 */
export class StoppedError extends TcpdiagError {
  constructor(scope: string, what: string) {
    super('TCPDIAG_STOPPED', `${what} started after ${scope} was closed; it has been undone`);
  }
}

/** A system error as Node raises it: an Error with an errno name (ENOENT, ECONNREFUSED...). */
export interface SystemError extends Error {
  code?: string | undefined;
  errno?: number | undefined;
  syscall?: string | undefined;
  path?: string | undefined;
}

/**
 * An error shaped like Node's own system errors (`code` ECONNREFUSED, ETIMEDOUT...), for
 * failures tcpdiag detects itself (a connect deadline, a connection closed early) so that one
 * classifier handles both. `code` is an errno name, or a TCPDIAG_* name for what has none.
 */
export function systemError(code: string, message: string, fields: { errno?: number; syscall?: string } = {}): SystemError {
  const error: SystemError = new Error(message);
  error.code = code;
  if (fields.errno !== undefined) error.errno = fields.errno;
  if (fields.syscall !== undefined) error.syscall = fields.syscall;
  return error;
}

/** Narrow an unknown thrown value to a system error with an errno code. */
export function isErrnoException(value: unknown): value is SystemError {
  return value instanceof Error && typeof (value as SystemError).code === 'string';
}

/** A short human reason for a system error: "no such file (ENOENT)". */
export function describeSystemError(value: unknown): string {
  if (!isErrnoException(value)) return value instanceof Error ? value.message : String(value);
  const reasons: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EISDIR: 'is a directory',
    ECONNREFUSED: 'connection refused',
    ETIMEDOUT: 'timed out',
    EHOSTUNREACH: 'no route to host',
    ENETUNREACH: 'network unreachable',
    ECONNRESET: 'connection reset by peer',
    EADDRINUSE: 'address already in use',
    EMFILE: 'too many open files',
  };
  const code = value.code ?? 'UNKNOWN';
  return `${reasons[code] ?? value.message} (${code})`;
}
