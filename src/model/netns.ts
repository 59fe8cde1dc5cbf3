/**
 * What `tcpdiag netns` (and the agent) says about each network namespace on the host: what
 * it is called, who runs in it, and how many TCP sockets it holds. Platform-neutral.
 */
import type { TcpState } from './tcp-state.js';

export interface NetnsProcess {
  readonly pid: number;
  readonly process: string;
  /** The container it runs in, as `runtime:id` (docker:3f2a..., k8s:..., podman:..., lxc:NAME); null when none is recognised. */
  readonly container: string | null;
}

export interface NetnsSummary {
  /** The namespace's identity: the inode /proc/PID/ns/net links to (net:[INODE]). */
  readonly inode: number;
  /** `ip netns` names bound to it (/run/netns/NAME). */
  readonly names: readonly string[];
  /** Is it the namespace tcpdiag itself runs in? */
  readonly current: boolean;
  /** What to give --netns for it: a name, else a PID, else null (nothing names it). */
  readonly netnsArg: string | null;
  readonly processes: readonly NetnsProcess[];
  /** The distinct containers of its processes. */
  readonly containers: readonly string[];
  /** TCP sockets per state; null when they could not be counted (see `error`). */
  readonly sockets: { readonly total: number; readonly states: Partial<Record<TcpState, number>> } | null;
  readonly error: string | null;
}
