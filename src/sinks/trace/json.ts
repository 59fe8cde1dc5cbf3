/**
 * JSON lines for trace events, written by hand for the hot types: at 170k events/s the generic
 * JSON.stringify was the largest single cost of `trace --json`. The output is exactly what
 * JSON.stringify gives (json.test.ts checks that). Addresses, states, kinds and types are
 * plain ASCII without quotes or backslashes by construction; process names and reset reasons
 * come from outside and are escaped (and cached: a burst has few distinct ones).
 */
import type { Endpoint } from '../../model/socket.js';
import type { TraceEvent } from '../../analysis/trace/events.js';

const quoted = new Map<string, string>();
function str(text: string | null): string {
  if (text === null) return 'null';
  let q = quoted.get(text);
  if (q === undefined) {
    q = JSON.stringify(text);
    if (quoted.size > 4096) quoted.clear();
    quoted.set(text, q);
  }
  return q;
}

function num(n: number | null): string {
  return n === null || !Number.isFinite(n) ? 'null' : `${n}`;
}

function endpoint(e: Endpoint | null): string {
  return e === null ? 'null' : `{"address":"${e.address}","port":${e.port}}`;
}

/** '"family":4,"local":{...},"remote":{...},"pid":1,"process":"x"': the fields every event has. */
export function tupleJson(e: TraceEvent): string {
  return `"family":${num(e.family)},"local":${endpoint(e.local)},"remote":${endpoint(e.remote)},"pid":${num(e.pid)},"process":${str(e.process)}`;
}

function head(e: TraceEvent): string {
  return `{"type":"${e.type}","ts":${num(e.ts)},${tupleJson(e)}`;
}

export function traceEventJson(e: TraceEvent): string {
  switch (e.type) {
    case 'state':
      if (e.detail !== undefined) break;
      return `${head(e)},"oldState":"${e.oldState}","newState":"${e.newState}","durationMs":${num(e.durationMs)}}`;
    case 'connect':
      return `${head(e)},"latencyMs":${num(e.latencyMs)}}`;
    case 'accept':
      return `${head(e)},"listener":${endpoint(e.listener)},"handshakeMs":${num(e.handshakeMs)}}`;
    case 'close':
      return `${head(e)},"durationMs":${num(e.durationMs)},"bytesSent":${num(e.bytesSent)},"bytesReceived":${num(e.bytesReceived)},"origin":${str(e.origin)}}`;
    case 'retransmit':
      return `${head(e)},"kind":"${e.kind}","state":${str(e.state)},"failed":${e.failed}${e.error === undefined ? '' : `,"error":${str(e.error)}`},"segments":${num(e.segments)}}`;
    default:
      break;
  }
  return JSON.stringify(e);
}
