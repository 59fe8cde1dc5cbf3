/**
 * One text line per trace event for the terminal (streaming: columns have fixed widths since
 * rows arrive one by one). Pure: returns strings; the CLI writes them.
 */
import type { AddressFamily, Endpoint } from '../../model/socket.js';
import { formatEndpoint } from '../../model/socket.js';
import type { TraceEvent } from '../../analysis/trace/events.js';

export const TRACE_HEADER = traceHeader(false);

/** The header line; `elapsed`: the time column is seconds since the start (bcc -t). */
export function traceHeader(elapsed: boolean): string {
  return `${(elapsed ? 'TIME(s)' : 'TIME').padEnd(12)} ${'EVENT'.padEnd(14)} ${'PID'.padStart(7)} ${'PROCESS'.padEnd(15)} ${'LOCAL'.padEnd(21)} ${'REMOTE'.padEnd(21)} DETAIL`;
}

/** Local HH:MM:SS, built once per second: a Date per line cost more than the rest of the line. */
let lastSecond = -1;
let lastClock = '';
const MILLIS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

function clock(tsMs: number): string {
  const second = Math.floor(tsMs / 1000);
  if (second !== lastSecond) {
    const d = new Date(second * 1000);
    const p2 = (n: number) => String(n).padStart(2, '0');
    lastClock = `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}.`;
    lastSecond = second;
  }
  return lastClock + MILLIS[Math.floor(tsMs - second * 1000)]!;
}

/**
 * The padded column text of an endpoint, kept on the endpoint object (the tracker shares one
 * per socket): at 10^5 lines a second, formatting it per line was a large share of the cost.
 */
const COLUMN = Symbol('tcpdiag.endpointColumn');
type ColumnCarrier = Endpoint & { [COLUMN]?: string };

function endpointColumn(e: Endpoint | null, family: AddressFamily | null): string {
  if (e === null || family === null) return '-'.padEnd(21);
  const carrier = e as ColumnCarrier;
  let text = carrier[COLUMN];
  if (text === undefined) {
    text = formatEndpoint(e, family).padEnd(21);
    carrier[COLUMN] = text;
  }
  return text;
}

/** "PID PROCESS" columns per pid (checked against the name: pids are reused). */
const ownerColumns = new Map<number, { readonly process: string | null; readonly text: string }>();
function ownerColumn(pid: number | null, process: string | null): string {
  if (pid === null) return `${'-'.padStart(7)} ${(process ?? '-').slice(0, 15).padEnd(15)}`;
  const cached = ownerColumns.get(pid);
  if (cached !== undefined && cached.process === process) return cached.text;
  if (ownerColumns.size > 65536) ownerColumns.clear();
  const text = `${String(pid).padStart(7)} ${(process ?? '-').slice(0, 15).padEnd(15)}`;
  ownerColumns.set(pid, { process, text });
  return text;
}

/** Milliseconds with 3 decimals (below 100 ms) without toFixed, which is slow at this rate. */
function ms(value: number | null): string {
  if (value === null) return '?';
  if (value >= 100) return `${Math.round(value)}ms`;
  const micro = Math.round(value * 1000);
  const whole = Math.floor(micro / 1000);
  return `${whole}.${MILLIS[micro - whole * 1000]!}ms`;
}

const TYPE_COLUMN: Record<string, string> = {};
function typeColumn(type: string): string {
  return (TYPE_COLUMN[type] ??= type.padEnd(14));
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
      const base = `${event.oldState} -> ${event.newState} ${event.durationMs === null ? '(since ?)' : `(after ${ms(event.durationMs)})`}`;
      const d = event.detail;
      return d === undefined
        ? base
        : `${base} cwnd=${d.cwnd} rwnd=${d.rcvWnd} sent=${d.bytesSent} rcvd=${d.bytesReceived} acked=${d.bytesAcked} backlog=${d.ackBacklog}/${d.maxAckBacklog} retrans=${d.totalRetrans} srtt=${d.srttUs}us`;
    }
    case 'retransmit':
      return `${event.kind}${event.state === null ? '' : ` in ${event.state}`}${event.failed ? ` FAILED ${event.error ?? ''}`.trimEnd() : ''}`;
    case 'reset':
      return `${event.direction}${event.reason === null ? '' : ` reason=${event.reason}`}${event.state === null ? '' : ` in ${event.state}`}`;
    case 'close':
      return `after ${ms(event.durationMs)} (${event.origin ?? 'opened before trace'}) tx=${event.bytesSent ?? '?'} rx=${event.bytesReceived ?? '?'}`;
    case 'drop':
      return `${event.reason} ${event.direction}${event.flags === null ? '' : ` [${event.flags}]`}${event.state === null ? '' : ` ${event.state}`}${event.location === null ? '' : ` at ${event.location}`}`;
    case 'lost':
      return `WARNING: the kernel lost ${event.count ?? 'an unknown number of'} events on cpu${event.cpu}`;
  }
}

/**
 * The time column as bcc's -t prints it: seconds since the trace started, in the 12 characters
 * of the clock column.
 */
function elapsed(tsMs: number, startMs: number): string {
  return ((tsMs - startMs) / 1000).toFixed(6).padEnd(12);
}

/** `sinceMs`: print seconds since this moment (bcc -t) instead of the local clock time. */
export function formatEventLine(event: TraceEvent, sinceMs: number | null = null): string {
  return `${sinceMs === null ? clock(event.ts) : elapsed(event.ts, sinceMs)} ${typeColumn(event.type)} ${ownerColumn(event.pid, event.process)} ${endpointColumn(event.local, event.family)} ${endpointColumn(event.remote, event.family)} ${eventDetail(event)}\n`;
}
