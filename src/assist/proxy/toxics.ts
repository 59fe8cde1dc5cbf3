/**
 * Toxics for `tcpdiag proxy`, in the spirit of toxiproxy: what the proxy does to the bytes of
 * one direction (upstream = client -> server, downstream = server -> client). The set is
 * mutable while the proxy runs; every chunk consults the current set, so a change applies to
 * connections already open. Spec text is the same on the command line, stdin and the control
 * API: `[up|down|both:]TYPE=VALUE[,key=value]`.
 */
import { UsageError } from '../../errors.js';
import { parseDurationMs, parseSizeBytes } from '../../model/units.js';
import { BYTES } from '../../model/limits.js';

export type Direction = 'upstream' | 'downstream';
export type ToxicType = 'latency' | 'bandwidth' | 'reset-after' | 'slow-close' | 'timeout';

export interface Toxic {
  readonly direction: Direction;
  readonly type: ToxicType;
  /** latency: delay added to every chunk. */
  readonly latencyMs?: number;
  /** latency: uniform +-jitter around latencyMs. */
  readonly jitterMs?: number;
  /** bandwidth: bytes per second. */
  readonly bytesPerSecond?: number;
  /** reset-after: bytes forwarded in this direction before both sides get an RST. */
  readonly bytes?: number;
  /** slow-close: delay of the FIN; timeout: close after this long (0: never). */
  readonly delayMs?: number;
}

/** The name a toxic is listed, replaced and removed by: `downstream:latency`. */
export function toxicName(toxic: Pick<Toxic, 'direction' | 'type'>): string {
  return `${toxic.direction}:${toxic.type}`;
}

const HINT = 'write e.g. latency=100ms,jitter=10ms | down:bandwidth=64k | up:reset-after=1k | slow-close=2s | timeout=5s';
const TYPES: readonly ToxicType[] = ['latency', 'bandwidth', 'reset-after', 'slow-close', 'timeout'];

/** One duration rule everywhere (model/units.ts): a bare number is seconds; a toxic lasts at most 1 h. */
function duration(text: string, what: string, allowZero: boolean): number {
  try {
    return parseDurationMs(text, { minMs: 1, maxMs: 3_600_000, allowZero });
  } catch (error: unknown) {
    if (error instanceof UsageError) throw new UsageError(`${what}: ${error.message}`, HINT);
    throw error;
  }
}

function size(text: string, what: string): number {
  try {
    return parseSizeBytes(text, BYTES);
  } catch (error: unknown) {
    if (error instanceof UsageError) throw new UsageError(`${what}: ${error.message}`, HINT);
    throw error;
  }
}

/** Parse one spec into one toxic per direction it names (both -> two). */
export function parseToxicSpec(spec: string): Toxic[] {
  let text = spec.trim();
  let directions: Direction[] = ['upstream', 'downstream'];
  const prefix = /^(up|upstream|down|downstream|both):/i.exec(text);
  if (prefix) {
    const word = (prefix[1] ?? '').toLowerCase();
    directions = word.startsWith('up') ? ['upstream'] : word.startsWith('down') ? ['downstream'] : directions;
    text = text.slice(prefix[0].length);
  }
  const [head = '', ...rest] = text.split(',');
  const eq = head.indexOf('=');
  const type = (eq < 0 ? head : head.slice(0, eq)).trim().toLowerCase() as ToxicType;
  const value = eq < 0 ? '' : head.slice(eq + 1).trim();
  if (!TYPES.includes(type)) throw new UsageError(`toxic "${spec}": unknown type "${type}" (one of ${TYPES.join(', ')})`, HINT);
  if (value === '') throw new UsageError(`toxic "${spec}": ${type} needs a value (${type}=...)`, HINT);
  const extra = new Map<string, string>();
  for (const item of rest) {
    const [k = '', v = ''] = item.split('=');
    extra.set(k.trim().toLowerCase(), v.trim());
  }
  const unknown = [...extra.keys()].filter((k) => !(type === 'latency' && k === 'jitter'));
  if (unknown.length > 0) throw new UsageError(`toxic "${spec}": unknown option ${unknown.join(', ')}`, HINT);

  let fields: Omit<Toxic, 'direction' | 'type'>;
  switch (type) {
    case 'latency': {
      const latencyMs = duration(value, 'latency', true);
      const jitterMs = extra.has('jitter') ? duration(extra.get('jitter') ?? '', 'jitter', true) : 0;
      fields = { latencyMs, jitterMs };
      break;
    }
    case 'bandwidth':
      fields = { bytesPerSecond: size(value, 'bandwidth') };
      break;
    case 'reset-after':
      fields = { bytes: size(value, 'reset-after') };
      break;
    case 'slow-close':
      fields = { delayMs: duration(value, 'slow-close', false) };
      break;
    case 'timeout':
      fields = { delayMs: duration(value, 'timeout', true) };
      break;
  }
  return directions.map((direction) => ({ direction, type, ...fields }));
}

/** One line per toxic for logs: `downstream:latency 100 ms +-10 ms`. */
export function describeToxic(t: Toxic): string {
  switch (t.type) {
    case 'latency':
      return `${toxicName(t)} ${t.latencyMs ?? 0} ms${t.jitterMs ? ` +-${t.jitterMs} ms` : ''}`;
    case 'bandwidth':
      return `${toxicName(t)} ${t.bytesPerSecond ?? 0} bytes/s`;
    case 'reset-after':
      return `${toxicName(t)} ${t.bytes ?? 0} bytes`;
    case 'slow-close':
      return `${toxicName(t)} FIN delayed ${t.delayMs ?? 0} ms`;
    case 'timeout':
      return `${toxicName(t)} data stopped${t.delayMs ? `, closed after ${t.delayMs} ms` : ', never closed'}`;
  }
}

/** What one direction does right now, looked up per chunk. */
export interface DirectionToxics {
  readonly latency?: Toxic;
  readonly bandwidth?: Toxic;
  readonly resetAfter?: Toxic;
  readonly slowClose?: Toxic;
  readonly timeout?: Toxic;
  /** No toxic at all: the proxy forwards on the fast path. */
  readonly none: boolean;
}

export class ToxicSet {
  private readonly toxics = new Map<string, Toxic>();
  private views: Record<Direction, DirectionToxics> = { upstream: { none: true }, downstream: { none: true } };
  private readonly listeners = new Set<(toxics: readonly Toxic[]) => void>();

  constructor(initial: readonly Toxic[] = []) {
    for (const t of initial) this.toxics.set(toxicName(t), t);
    this.rebuild();
  }

  list(): Toxic[] {
    return [...this.toxics.values()];
  }

  /** Add or replace (same direction and type) the toxics of a spec. */
  add(spec: string): Toxic[] {
    const parsed = parseToxicSpec(spec);
    for (const t of parsed) this.toxics.set(toxicName(t), t);
    this.rebuild();
    return parsed;
  }

  /** Remove by name (`downstream:latency`), by type in both directions (`latency`), or `all`. */
  remove(name: string): string[] {
    const key = name.trim().toLowerCase().replace(/^up:/, 'upstream:').replace(/^down:/, 'downstream:');
    const removed = [...this.toxics.keys()].filter((k) => key === 'all' || k === key || k.endsWith(`:${key}`));
    for (const k of removed) this.toxics.delete(k);
    this.rebuild();
    return removed;
  }

  clear(): string[] {
    return this.remove('all');
  }

  forDirection(direction: Direction): DirectionToxics {
    return this.views[direction];
  }

  onChange(listener: (toxics: readonly Toxic[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private rebuild(): void {
    const view = (direction: Direction): DirectionToxics => {
      const get = (type: ToxicType): Toxic | undefined => this.toxics.get(toxicName({ direction, type }));
      const v = { latency: get('latency'), bandwidth: get('bandwidth'), resetAfter: get('reset-after'), slowClose: get('slow-close'), timeout: get('timeout') };
      const present = Object.fromEntries(Object.entries(v).filter(([, t]) => t !== undefined)) as Omit<DirectionToxics, 'none'>;
      return { ...present, none: Object.keys(present).length === 0 };
    };
    this.views = { upstream: view('upstream'), downstream: view('downstream') };
    const all = this.list();
    for (const listener of this.listeners) listener(all);
  }
}
