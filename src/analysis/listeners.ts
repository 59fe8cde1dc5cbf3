/**
 * Per-listener view of a whole socket table: configured backlog, accept queue, half-open and
 * established children. Pure: derived from one snapshot (the listener source computes the same
 * without dumping the whole table; both match children through model/listener.ts).
 */
import type { TcpSocket } from '../model/socket.js';
import { ListenerIndex } from '../model/listener.js';
import type { KernelResponse, ListenerPressure, ListenerSummary } from '../model/listener.js';
import type { Counters } from '../model/counters.js';
import { counterDelta } from './counter-rates.js';

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

/** Listeners with a full accept or SYN queue: the ones worth measuring the kernel's response for. */
export function fullListeners(listeners: readonly ListenerSummary[]): ListenerSummary[] {
  return listeners.filter((l) => l.acceptQueueFull === true || l.synQueueFull === true);
}

export interface PressureSample {
  /** The namespace's counters at the start and the end of the window, and its length. */
  readonly before: Counters;
  readonly after: Counters;
  readonly windowMs: number;
  readonly syncookies: string | null;
  readonly abortOnOverflow: string | null;
}

/**
 * What the kernel does for each full listener (see KernelResponse), with the namespace's
 * counter rates over the sample window as the evidence.
 */
export function withPressure(listeners: readonly ListenerSummary[], sample: PressureSample): ListenerSummary[] {
  const { rates } = counterDelta(sample.before, sample.after, sample.windowMs);
  const rate = (name: string): number | null => rates[name] ?? null;
  return listeners.map((l) => {
    if (l.acceptQueueFull !== true && l.synQueueFull !== true) return l;
    const actions: KernelResponse[] = [];
    if (l.acceptQueueFull === true) {
      actions.push('drops-new-syns', sample.abortOnOverflow === '1' ? 'resets-connections' : 'drops-final-acks');
    }
    if (l.synQueueFull === true) {
      const cookies = sample.syncookies !== '0';
      const action: KernelResponse = cookies ? 'answers-with-syncookies' : 'drops-new-syns';
      if (!actions.includes(action)) actions.push(action);
    }
    const pressure: ListenerPressure = {
      actions,
      windowMs: Math.round(sample.windowMs),
      listenOverflowsPerSec: rate('ListenOverflows'),
      listenDropsPerSec: rate('ListenDrops'),
      syncookiesSentPerSec: rate('SyncookiesSent'),
      reqQFullDoCookiesPerSec: rate('TCPReqQFullDoCookies'),
      reqQFullDropPerSec: rate('TCPReqQFullDrop'),
      syncookies: sample.syncookies,
      abortOnOverflow: sample.abortOnOverflow,
    };
    return { ...l, pressure };
  });
}
