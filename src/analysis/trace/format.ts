/**
 * One text line per trace event for the terminal (streaming: columns have fixed widths since
 * rows arrive one by one). Pure: returns strings; the CLI writes them.
 */
import type { AddressFamily, Endpoint } from '../../model/socket.js';
import { formatEndpoint } from '../../model/socket.js';
import type { TraceEvent } from './events.js';

export const TRACE_HEADER =
  `${'TIME'.padEnd(12)} ${'EVENT'.padEnd(14)} ${'PID'.padStart(7)} ${'PROCESS'.padEnd(15)} ${'LOCAL'.padEnd(21)} ${'REMOTE'.padEnd(21)} DETAIL`;

function clock(tsMs: number): string {
  const d = new Date(tsMs);
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

function endpoint(e: Endpoint | null, family: AddressFamily | null): string {
  return e === null || family === null ? '-' : formatEndpoint(e, family);
}

function ms(value: number | null): string {
  if (value === null) return '?';
  return value >= 100 ? `${value.toFixed(0)}ms` : `${value.toFixed(3)}ms`;
}

export function eventDetail(event: TraceEvent): string {
  switch (event.type) {
    case 'connect':
      return `latency ${ms(event.latencyMs)}`;
    case 'connect-failed':
      return `${event.reason} after ${ms(event.durationMs)}${event.synRetransmits > 0 ? `, ${event.synRetransmits} SYN retransmits` : ''}`;
    case 'accept':
      return `listener :${event.listener.port}, handshake ${ms(event.handshakeMs)}`;
    case 'state': {
      const base = `${event.oldState} -> ${event.newState} (${event.durationMs === null ? 'since ?' : `after ${ms(event.durationMs)}`})`;
      const d = event.detail;
      return d === undefined
        ? base
        : `${base} cwnd=${d.cwnd} rwnd=${d.rcvWnd} sent=${d.bytesSent} rcvd=${d.bytesReceived} acked=${d.bytesAcked} backlog=${d.ackBacklog}/${d.maxAckBacklog} retrans=${d.totalRetrans} srtt=${d.srttUs}us`;
    }
    case 'retransmit':
      return `${event.kind}${event.state === null ? '' : ` in ${event.state}`}`;
    case 'reset':
      return `${event.direction}${event.reason === null ? '' : ` reason=${event.reason}`}${event.state === null ? '' : ` in ${event.state}`}`;
    case 'close':
      return `after ${ms(event.durationMs)} (${event.origin ?? 'opened before trace'}) tx=${event.bytesSent ?? '?'} rx=${event.bytesReceived ?? '?'}`;
    case 'lost':
      return `WARNING: the kernel lost ${event.count ?? 'an unknown number of'} events on cpu${event.cpu}`;
  }
}

export function formatEventLine(event: TraceEvent): string {
  const process = event.process === null ? '-' : event.process.slice(0, 15);
  return `${clock(event.ts)} ${event.type.padEnd(14)} ${String(event.pid ?? '-').padStart(7)} ${process.padEnd(15)} ${endpoint(event.local, event.family).padEnd(21)} ${endpoint(event.remote, event.family).padEnd(21)} ${eventDetail(event)}\n`;
}
