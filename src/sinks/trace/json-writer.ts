/**
 * JSON lines written straight into a byte buffer. At 170k state events a second, building a
 * string per event (template pieces, number-to-string, then flattening and encoding it for the
 * write) was most of tcpdiag's CPU and garbage. Here the parts that repeat are encoded once
 * and copied (a socket's family/endpoints/owner, each transition's state names), numbers are
 * written digit by digit, and nothing is allocated per event. Other event types go through
 * traceEventJson (json.ts). The bytes are the same JSON: json-writer.test.ts parses them back.
 */
import { TCP_STATES } from '../../model/tcp-state.js';
import type { StateEvent, TraceEvent } from '../../analysis/trace/events.js';
import { traceEventJson } from './json.js';

const NULL = Buffer.from('null');


/** ',"oldState":"A","newState":"B","durationMs":' for every pair of state names, by index. */
const STATE_INDEX: Record<string, number> = Object.fromEntries(TCP_STATES.map((name, i) => [name, i]));
const TRANSITION_PARTS: Buffer[] = [];
for (const a of TCP_STATES) {
  for (const b of TCP_STATES) TRANSITION_PARTS.push(Buffer.from(`,"oldState":"${a}","newState":"${b}","durationMs":`));
}
function transitionPart(oldState: string, newState: string): Buffer {
  return TRANSITION_PARTS[STATE_INDEX[oldState]! * TCP_STATES.length + STATE_INDEX[newState]!]!;
}

const PREFIX4 = Buffer.from('{"type":"state","family":4,"local":{"address":"');
const PREFIX6 = Buffer.from('{"type":"state","family":6,"local":{"address":"');
const REMOTE = Buffer.from('},"remote":{"address":"');
const NO_OWNER = Buffer.from('},"pid":null,"process":null');

/** 'ADDRESS","port":' per address (a burst has few distinct ones). */
const addressParts = new Map<string, Buffer>();
function addressPart(address: string): Buffer {
  let part = addressParts.get(address);
  if (part === undefined) {
    if (addressParts.size > 65536) addressParts.clear();
    // Addresses are formatted by tcpdiag (digits, hex, '.', ':'): nothing to escape.
    part = Buffer.from(`${address}","port":`);
    addressParts.set(address, part);
  }
  return part;
}

/** '},"pid":N,"process":"NAME"' per pid, checked against the name (pids are reused). */
const ownerParts = new Map<number, { readonly process: string | null; readonly part: Buffer }>();
function ownerPart(pid: number | null, process: string | null): Buffer {
  if (pid === null) return NO_OWNER;
  const cached = ownerParts.get(pid);
  if (cached !== undefined && cached.process === process) return cached.part;
  if (ownerParts.size > 65536) ownerParts.clear();
  const part = Buffer.from(`},"pid":${pid},"process":${JSON.stringify(process)}`);
  ownerParts.set(pid, { process, part });
  return part;
}

/**
 * Where the bytes go. `done` is called once the sink no longer needs the chunk (a pipe write
 * may queue it), so its buffer can be reused: allocating a fresh 1 MiB buffer per flush made
 * V8 count tens of MB of external memory a second and run full collections for it.
 */
export type ChunkSink = (chunk: Buffer, done: () => void) => void;

/** Every port's decimal digits, precomputed (two per line: a digit loop was a visible cost). */
const PORT_DIGITS = new Uint8Array(65536 * 5);
const PORT_LENGTH = new Uint8Array(65536);
for (let port = 0; port < 65536; port++) {
  const text = String(port);
  PORT_LENGTH[port] = text.length;
  for (let i = 0; i < text.length; i++) PORT_DIGITS[port * 5 + i] = text.charCodeAt(i);
}

export class JsonLineWriter {
  private buf: Buffer;
  private pos = 0;
  private readonly free: Buffer[] = [];

  constructor(private readonly sink: ChunkSink, private readonly capacity = 256 * 1024) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  write(event: TraceEvent): void {
    if (event.type === 'state' && event.detail === undefined && event.local !== null) this.writeState(event);
    else this.writeText(`${traceEventJson(event)}\n`);
  }

  flush(): void {
    if (this.pos === 0) return;
    const full = this.buf;
    this.sink(full.subarray(0, this.pos), () => {
      if (this.free.length < 64) this.free.push(full);
    });
    this.buf = this.free.pop() ?? Buffer.allocUnsafe(this.capacity);
    this.pos = 0;
  }

  /**
   * {"type":"state","family":F,"local":{..},"remote":{..},"pid":P,"process":N,"oldState":..,
   * "newState":..,"durationMs":D,"ts":T}: cached byte parts and digits, nothing allocated.
   */
  private writeState(e: StateEvent): void {
    const local = e.local!;
    const remote = e.remote!;
    const localPart = addressPart(local.address);
    const remotePart = addressPart(remote.address);
    const owner = ownerPart(e.pid, e.process);
    const transition = transitionPart(e.oldState, e.newState);
    this.ensure(PREFIX4.length + localPart.length + REMOTE.length + remotePart.length + owner.length + transition.length + 80);
    this.copy(e.family === 6 ? PREFIX6 : PREFIX4);
    this.copy(localPart);
    this.port(local.port);
    this.copy(REMOTE);
    this.copy(remotePart);
    this.port(remote.port);
    this.copy(owner);
    this.copy(transition);
    if (e.durationMs === null) this.copy(NULL);
    else this.fixed3(e.durationMs);
    const buf = this.buf;
    let p = this.pos;
    // ,"ts":
    buf[p++] = 44; buf[p++] = 34; buf[p++] = 116; buf[p++] = 115; buf[p++] = 34; buf[p++] = 58;
    this.pos = p;
    this.fixed3(e.ts);
    buf[this.pos++] = 125; // }
    buf[this.pos++] = 10; // \n
  }

  private writeText(text: string): void {
    const bytes = Buffer.byteLength(text);
    this.ensure(bytes);
    if (bytes > this.buf.length - this.pos) {
      this.sink(Buffer.from(text), () => undefined);
      return;
    }
    this.pos += this.buf.write(text, this.pos);
  }

  private ensure(bytes: number): void {
    if (this.pos + bytes > this.buf.length) this.flush();
  }

  private copy(part: Buffer): void {
    this.buf.set(part, this.pos); // TypedArray#set: Buffer#copy has a JS-side cost per call
    this.pos += part.length;
  }

  /** A number with at most 3 decimals, as JSON writes it (no trailing zeros, no exponent). */
  private fixed3(x: number): void {
    if (!Number.isFinite(x) || Math.abs(x) >= 9e12) {
      this.writeText(JSON.stringify(Math.round(x * 1000) / 1000));
      return;
    }
    let milli = Math.round(x * 1000);
    if (milli < 0) {
      this.buf[this.pos++] = 45; // '-'
      milli = -milli;
    }
    const frac = milli % 1000;
    this.whole((milli - frac) / 1000);
    if (frac === 0) return;
    const buf = this.buf;
    buf[this.pos++] = 46; // '.'
    const d1 = (frac / 100) | 0;
    const d2 = ((frac / 10) | 0) % 10;
    const d3 = frac % 10;
    buf[this.pos++] = 48 + d1;
    if (d2 !== 0 || d3 !== 0) buf[this.pos++] = 48 + d2;
    if (d3 !== 0) buf[this.pos++] = 48 + d3;
  }

  /** The integer part of timestamps repeats for ~100 events at a time: reuse its digits. */
  private lastWhole = -1;
  private lastWholeDigits = Buffer.alloc(0);

  private whole(n: number): void {
    if (n === this.lastWhole) {
      this.copy(this.lastWholeDigits);
      return;
    }
    if (n < 1e9) {
      this.digits(n);
      return;
    }
    const start = this.pos;
    this.digits(n);
    this.lastWhole = n;
    this.lastWholeDigits = Buffer.from(this.buf.subarray(start, this.pos));
  }

  /** Digits of a non-negative integer below 2^53; the low 9 digits with 32-bit integer math. */
  private digits(n: number): void {
    if (n < 1e9) {
      this.smallDigits(n | 0);
      return;
    }
    const low = n % 1e9;
    this.smallDigits((n - low) / 1e9);
    // zero-padded low 9 digits
    const buf = this.buf;
    let v = low | 0;
    for (let i = this.pos + 8; i >= this.pos; i--) {
      buf[i] = 48 + (v % 10);
      v = (v / 10) | 0;
    }
    this.pos += 9;
  }

  private port(port: number): void {
    if (port < 0 || port > 65535) {
      this.smallDigits(port);
      return;
    }
    const buf = this.buf;
    const from = port * 5;
    const end = from + PORT_LENGTH[port]!;
    for (let i = from; i < end; i++) buf[this.pos++] = PORT_DIGITS[i]!;
  }

  private smallDigits(v: number): void {
    const buf = this.buf;
    if (v < 10) {
      buf[this.pos++] = 48 + v;
      return;
    }
    let len = 0;
    for (let t = v; t > 0; t = (t / 10) | 0) len++;
    for (let i = this.pos + len - 1; i >= this.pos; i--) {
      buf[i] = 48 + (v % 10);
      v = (v / 10) | 0;
    }
    this.pos += len;
  }
}
