/**
 * Text and JSON forms of client events: what `tcpdiag client` prints. Pure functions.
 */
import { hexDump, printable, toHex } from '../hexdump.js';
import { clockTime } from '../server/render.js';
import type { ClientEvent, ClientSummary } from './client.js';

export function renderClientEvent(event: ClientEvent, now: Date, showHex: boolean): string {
  const at = `[${clockTime(now)}]`;
  switch (event.type) {
    case 'connected':
      return `${at} connected to ${event.remote} from ${event.local} in ${event.connectMs.toFixed(2)} ms${event.mss === null ? '' : ` (mss ${event.mss})`}`;
    case 'sent': {
      const head = `${at} -> #${event.seq} ${event.data.length} bytes: ${printable(event.data)}`;
      return showHex ? `${head}\n${hexDump(event.data)}` : head;
    }
    case 'received': {
      const head = `${at} <- ${event.data.length} bytes: ${printable(event.data)}`;
      return showHex ? `${head}\n${hexDump(event.data, event.offset)}` : head;
    }
    case 'peer-closed':
      return `${at} peer closed the connection (FIN)`;
    case 'peer-reset':
      return `${at} peer reset the connection (RST)`;
    case 'error':
      return `${at} error: ${event.message}`;
  }
}

export function renderClientSummary(summary: ClientSummary): string {
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  const kernel =
    summary.tcpInfo === null
      ? ''
      : `; rtt ${summary.tcpInfo.rttMs.toFixed(3)} ms, retransmits ${summary.tcpInfo.totalRetrans}, mss ${summary.tcpInfo.mss}`;
  return (
    `sent ${plural(summary.messagesSent, 'message')} (${summary.bytesSent} bytes), ` +
    `received ${plural(summary.messagesReceived, 'read')} (${summary.bytesReceived} bytes) in ${summary.durationMs} ms; ` +
    `closed by ${summary.closedBy}${kernel}`
  );
}

/** `--json`: one object per event line, buffers as escaped text plus hex; the last line is the summary. */
export function clientEventJson(event: ClientEvent, now: Date): Record<string, unknown> {
  const base = { ts: now.toISOString() };
  if (event.type === 'sent' || event.type === 'received') {
    const { data, ...rest } = event;
    return { ...base, ...rest, bytes: data.length, text: printable(data), hex: toHex(data) };
  }
  return { ...base, ...event };
}
