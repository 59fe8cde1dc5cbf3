/**
 * Text and JSON forms of server events: what `tcpdiag server` prints. Pure functions so the
 * layout is tested against exact text.
 */
import { formatHostPort } from '../client/endpoint.js';
import { hexDump, printable, toHex } from '../hexdump.js';
import type { ServerEvent } from './server.js';

/** `12:00:00.123` in UTC: short enough for a line prefix, unambiguous across hosts. */
export function clockTime(date: Date): string {
  return date.toISOString().slice(11, 23);
}

/** The contract line: `listening on ADDRESS:PORT` (IPv6 in brackets). */
export function listeningLine(address: string, port: number): string {
  return `listening on ${formatHostPort(address, port)}`;
}

const PREVIEW_BYTES = 256;

export function renderServerEvent(event: ServerEvent, now: Date, showHex: boolean): string {
  const at = `[${clockTime(now)}]`;
  switch (event.type) {
    case 'listening':
      return event.accepting ? listeningLine(event.address, event.port) : `${listeningLine(event.address, event.port)}\n${at} never accepting: connections stay in the kernel's accept queue`;
    case 'accept':
      return `${at} #${event.peer.id} accepted ${event.peer.remote} -> ${event.peer.local}`;
    case 'data': {
      if (showHex) return `${at} #${event.peer.id} <- ${event.data.length} bytes: ${printable(event.data)}\n${hexDump(event.data, event.totalBytes - event.data.length)}`;
      // Without --hex-dump a line stays a line: the text of the first PREVIEW_BYTES.
      const shown = event.data.subarray(0, PREVIEW_BYTES);
      const more = event.data.length - shown.length;
      return `${at} #${event.peer.id} <- ${event.data.length} bytes: ${printable(shown)}${more > 0 ? `... (${more} more)` : ''}`;
    }
    case 'traffic':
      return `${at} #${event.peer.id} ${event.readsIn} more reads (${event.bytesIn} B in), ${event.writesOut} more writes (${event.bytesOut} B out) in ${(event.periodMs / 1000).toFixed(1)} s`;
    case 'sent':
      return `${at} #${event.peer.id} -> ${event.bytes} bytes (${event.reason})`;
    case 'peer-closed':
      return `${at} #${event.peer.id} peer closed its side (FIN)${event.keptOpen ? '; keeping ours open: CLOSE_WAIT here, FIN_WAIT2 there' : ''}`;
    case 'reset':
      return `${at} #${event.peer.id} sending RST after ${event.afterBytes} bytes`;
    case 'error':
      return `${at} ${event.peer === null ? 'server' : `#${event.peer.id}`} error: ${event.message}`;
    case 'close':
      return (
        `${at} #${event.peer.id} closed${event.reset ? ' (reset)' : ''}: in ${event.bytesIn} B, out ${event.bytesOut} B, ${event.durationMs} ms` +
        (event.kernel === null ? '' : `; rtt ${event.kernel.rttMs} ms, retransmits ${event.kernel.totalRetrans}, mss ${event.kernel.mss}`)
      );
  }
}

/** One JSON object per event (`--json`): buffers become text with escapes plus hex. */
export function serverEventJson(event: ServerEvent, now: Date): Record<string, unknown> {
  const base = { ts: now.toISOString() };
  if (event.type === 'data') {
    const { data, peer, ...rest } = event;
    return { ...base, ...rest, id: peer.id, remote: peer.remote, bytes: data.length, text: printable(data), hex: toHex(data) };
  }
  if ('peer' in event && event.peer !== null) {
    const { peer, ...rest } = event;
    return { ...base, ...rest, id: peer.id, remote: peer.remote, local: peer.local };
  }
  return { ...base, ...event };
}
