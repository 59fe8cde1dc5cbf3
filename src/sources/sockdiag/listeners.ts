/**
 * Listeners with their children counted, without decoding the whole table: LISTEN sockets are
 * dumped and decoded (the kernel walks only its listening hash for that state,
 * inet_diag_dump_icsk in net/ipv4/inet_diag.c), and the SYN_RECV and ESTABLISHED sockets of a
 * second dump are only counted against the listener of their local port, reading the port and
 * address in place. On 60,000 established sockets that is no TcpSocket object per connection.
 *
 * With `children: 'half-open'` only the request socks are counted, and in the same dump as the
 * listeners: the kernel still walks its established hash for them (request socks live there),
 * but sends nothing for the established sockets it passes, where the second dump sends one
 * message each (60,000 a second for a collector that runs every second). `established` is then
 * 0: the caller counts it from a table it has (the agent's socket sample). Given the children
 * (a state walk already made found them: the agent's per-second state counts), the dump is of
 * LISTEN sockets alone, and the kernel walks nothing but its listening hash.
 */
import type { AddressFamily, TcpSocket } from '../../model/socket.js';
import { ListenerIndex } from '../../model/listener.js';
import type { ListenerChild } from '../../model/listener.js';
import { tcpStateFromKernel } from '../../model/tcp-state.js';
import { decodeInetDiagDump, forEachMessage, readAddress } from './inet-diag.js';
import { rawDumps } from './index.js';
import type { ConnExpr } from '../../model/conn-filter.js';

const NLMSG_HDRLEN = 16;

export interface ListenerDump {
  /** The LISTEN sockets, in dump order (owners not filled in). */
  readonly listeners: TcpSocket[];
  /** Their children counted; `summaries()` gives the listener view. */
  readonly index: ListenerIndex;
}

export interface ListenerDumpOptions {
  readonly families?: readonly (4 | 6)[];
  /**
   * Conditions the kernel runs on listeners and children alike: only those a child shares with
   * its listener (its local port), as analysis/listeners.ts listenerDumpFilter() gives them.
   */
  readonly expr?: ConnExpr;
  /** A network namespace (a path); absent: our own. */
  readonly netns?: string;
  /** Which children to count: SYN_RECV and ESTABLISHED (the default), SYN_RECV only, or these (counted elsewhere). */
  readonly children?: 'all' | 'half-open' | readonly ListenerChild[];
}

const KERNEL_LISTEN = 10;

export function dumpListeners(options: ListenerDumpOptions = {}): ListenerDump {
  const { children = 'all', ...rest } = options;
  const common = { ...rest, withInfo: false };
  const listeners: TcpSocket[] = [];
  const halfOpenOnly = children === 'half-open';
  const first = rawDumps({ ...common, states: halfOpenOnly ? ['LISTEN', 'SYN_RECV'] : ['LISTEN'] });
  // The listening hash is walked before the established one, so the listeners come first; they
  // are decoded before any child is counted all the same.
  for (const buf of first) decodeInetDiagDump(buf, listeners, (kernelState) => kernelState === KERNEL_LISTEN);
  const index = new ListenerIndex(listeners);
  if (listeners.length === 0) return { listeners, index };
  if (typeof children !== 'string') {
    for (const child of children) index.add(child);
    return { listeners, index };
  }
  const scratch = new Uint8Array(16);
  for (const buf of halfOpenOnly ? first : rawDumps({ ...common, states: ['SYN_RECV', 'ESTABLISHED'] })) {
    forEachMessage(buf, (offset) => {
      const m = offset + NLMSG_HDRLEN;
      const family: AddressFamily = buf[m] === 10 ? 6 : 4;
      const port = buf.readUInt16BE(m + 4);
      if (!index.hasPort(family, port)) return;
      const state = tcpStateFromKernel(buf[m + 1] ?? 0);
      if (state !== 'SYN_RECV' && state !== 'ESTABLISHED') return;
      index.add({ family, address: readAddress(buf, m + 8, family, scratch), port, state });
    });
  }
  return { listeners, index };
}
