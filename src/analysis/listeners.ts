/**
 * Per-listener view of a whole socket table: configured backlog, accept queue, half-open and
 * established children. Pure: derived from one snapshot (the listener source computes the same
 * without dumping the whole table; both match children through model/listener.ts).
 */
import type { TcpSocket } from '../model/socket.js';
import { ListenerIndex } from '../model/listener.js';
import type { ListenerSummary } from '../model/listener.js';

export type { ListenerSummary };
export { listenerDumpFilter } from '../model/listener.js';

/** `include` picks which listeners to report (all by default); children of every listener are still matched. */
export function summarizeListeners(
  sockets: readonly TcpSocket[],
  backlogKnown: boolean,
  include: (listener: TcpSocket) => boolean = () => true,
): ListenerSummary[] {
  const index = new ListenerIndex(sockets.filter((s) => s.state === 'LISTEN'));
  for (const s of sockets) {
    if (s.state === 'SYN_RECV' || s.state === 'ESTABLISHED') {
      index.add({ family: s.family, address: s.local.address, port: s.local.port, state: s.state });
    }
  }
  return index.summaries(backlogKnown, include);
}
