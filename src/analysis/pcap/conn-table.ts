/**
 * The table of live connections, keyed by the unordered pair of endpoints. IPv4 endpoints are
 * numbers (address * 65536 + port), hashed into a small integer with collisions chained, so the
 * per-packet lookup builds no string and allocates nothing; IPv6 endpoints use string keys.
 */
import type { Connection } from './connection.js';

type Bucket = Connection | Connection[];

function mix(endpoint: number): number {
  // endpoint < 2^48: fold the high 16 bits in, then a multiplicative hash (Murmur3 finaliser).
  let h = (endpoint >>> 0) ^ Math.floor(endpoint / 4294967296);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Symmetric: both directions of a connection hash alike. Kept in the small-integer range. */
function hash4(a: number, b: number): number {
  return (mix(a) ^ mix(b)) & 0x3fffffff;
}

function matches(c: Connection, a: number | string, b: number | string): boolean {
  return (c.aKey === a && c.bKey === b) || (c.aKey === b && c.bKey === a);
}

export class ConnTable {
  private readonly v4 = new Map<number, Bucket>();
  private readonly v6 = new Map<string, Connection>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(src: number | string, dst: number | string): Connection | undefined {
    if (typeof src === 'number' && typeof dst === 'number') {
      const bucket = this.v4.get(hash4(src, dst));
      if (bucket === undefined) return undefined;
      if (!Array.isArray(bucket)) return matches(bucket, src, dst) ? bucket : undefined;
      for (const c of bucket) if (matches(c, src, dst)) return c;
      return undefined;
    }
    return this.v6.get(src < dst ? `${src}-${dst}` : `${dst}-${src}`);
  }

  /** Add a connection whose aKey/bKey are set; replaces nothing (delete the old one first). */
  add(conn: Connection): void {
    const a = conn.aKey;
    const b = conn.bKey;
    this.count++;
    if (typeof a === 'number' && typeof b === 'number') {
      const h = hash4(a, b);
      const bucket = this.v4.get(h);
      if (bucket === undefined) this.v4.set(h, conn);
      else if (Array.isArray(bucket)) bucket.push(conn);
      else this.v4.set(h, [bucket, conn]);
      return;
    }
    this.v6.set(a < b ? `${a}-${b}` : `${b}-${a}`, conn);
  }

  /** Whether `conn` itself (not a newer connection on the same ports) is in the table. */
  has(conn: Connection): boolean {
    return this.get(conn.aKey, conn.bKey) === conn;
  }

  delete(conn: Connection): void {
    const a = conn.aKey;
    const b = conn.bKey;
    if (typeof a === 'number' && typeof b === 'number') {
      const h = hash4(a, b);
      const bucket = this.v4.get(h);
      if (bucket === conn) {
        this.v4.delete(h);
        this.count--;
      } else if (Array.isArray(bucket)) {
        const i = bucket.indexOf(conn);
        if (i >= 0) {
          bucket.splice(i, 1);
          this.count--;
          if (bucket.length === 1) this.v4.set(h, bucket[0]!);
        }
      }
      return;
    }
    const key = a < b ? `${a}-${b}` : `${b}-${a}`;
    if (this.v6.get(key) === conn) {
      this.v6.delete(key);
      this.count--;
    }
  }

  *values(): IterableIterator<Connection> {
    for (const bucket of this.v4.values()) {
      if (Array.isArray(bucket)) yield* bucket;
      else yield bucket;
    }
    yield* this.v6.values();
  }

  clear(): void {
    this.v4.clear();
    this.v6.clear();
    this.count = 0;
  }
}
