/**
 * Who owns a socket or ran an event: a process id and its name. The lookup is what the trace
 * tracker asks while it attributes events; the registry builds it over /proc
 * (sources/procfs/process-lookup.ts) and unit tests fake it.
 */
import type { AddressFamily } from './socket.js';

export interface Owner {
  readonly pid: number;
  readonly process: string;
}

export interface ProcessLookup {
  /** The process a thread id belongs to (a tracepoint's common_pid is a thread id). */
  byTid(tid: number): Owner | null;
  /** The owner of the socket listening on this port. */
  listenerOwner(family: AddressFamily, port: number): Owner | null;
  /** A listener seen being created in process context: remember its owner. */
  noteListener(family: AddressFamily, port: number, owner: Owner): void;
  /** Learn the listeners that exist now (called once tracing is on), before a burst needs them. */
  prime?(): void;
  /**
   * The owner of the connection with this 4-tuple, from the socket table: for events the kernel
   * raises in softirq or a timer (retransmissions, resets) on sockets opened before the trace.
   */
  connectionOwner?(family: AddressFamily, localAddress: string, localPort: number, remoteAddress: string, remotePort: number): Owner | null;
  /** Learn the connections that exist now, with their owners (retrans mode, once tracing is on). */
  primeConnections?(): void;
}

/**
 * What a process may still open: its file descriptors in use against RLIMIT_NOFILE (a socket
 * is a file; accept() fails with EMFILE at the soft limit). Null where /proc would not say
 * (another user's process without root).
 */
export interface ProcessResources {
  readonly pid: number;
  readonly process: string;
  /** Entries of /proc/PID/fd. */
  readonly openFds: number | null;
  /** "Max open files" of /proc/PID/limits; null for "unlimited" or unreadable. */
  readonly fdLimitSoft: number | null;
  readonly fdLimitHard: number | null;
  readonly threads: number | null;
}
