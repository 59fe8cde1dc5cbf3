/**
 * One look at the host's TCP side, every part read in one short window: what `tcpdiag
 * diagnose` and the agent reason over. A part not asked for (or that could not be read) is
 * null; why it could not is in the snapshot's issues.
 */
import type { CounterSample } from './counters.js';
import type { ListenerSummary } from './listener.js';
import type { ProcessResources } from './process.js';
import type { TcpSocket } from './socket.js';
import type { Sysctls } from './sysctl.js';

export interface HostData {
  readonly sockets: readonly TcpSocket[] | null;
  readonly listeners: readonly ListenerSummary[] | null;
  readonly counters: CounterSample | null;
  readonly sysctls: Sysctls | null;
  readonly processes: readonly ProcessResources[] | null;
  /** Wall-clock start and end of the window (ms since the epoch). */
  readonly window: { readonly startMs: number; readonly endMs: number };
}
