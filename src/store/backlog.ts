/**
 * A bounded on-disk queue of batches for the exporters: what a receiver has not accepted yet
 * survives a receiver outage and an agent restart, and what passes the byte cap is dropped
 * oldest first and counted (newest data is what an operator looks at after an outage).
 *
 * One file per batch, `SEQ.ITEMS.batch` (ITEMS: samples or rows in it, so drops are counted in
 * the unit the operator thinks in), written to a temporary name and renamed: a crash leaves
 * whole batches or none (rename(2) is atomic within a directory). Drop counts live in
 * `dropped.json`, rewritten the same way, so they too survive restarts.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileUnwritableError } from '../errors.js';

export interface BacklogEntry {
  readonly seq: number;
  readonly items: number;
  readonly bytes: number;
}

export type DropReason = 'overflow' | 'rejected';

export interface BacklogStatus {
  readonly pendingBatches: number;
  readonly pendingItems: number;
  readonly pendingBytes: number;
  readonly maxBytes: number;
  readonly dropped: Readonly<Record<DropReason, number>>;
}

const NAME = /^(\d{12})\.(\d+)\.batch$/;

export class DiskBacklog {
  private readonly entries: BacklogEntry[] = [];
  private bytes = 0;
  private nextSeq = 1;
  private dropped: Record<DropReason, number> = { overflow: 0, rejected: 0 };

  private constructor(readonly dir: string, readonly maxBytes: number) {}

  /** Opens (creating) `dir` and picks up the batches a previous run left. */
  static open(dir: string, maxBytes: number): DiskBacklog {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (error: unknown) {
      throw new FileUnwritableError(dir, error);
    }
    const backlog = new DiskBacklog(dir, maxBytes);
    for (const name of readdirSync(dir).sort()) {
      const m = NAME.exec(name);
      if (m === null) {
        // A temporary file of a write that a crash interrupted: never renamed, never complete.
        if (name.endsWith('.tmp')) unlinkSync(join(dir, name));
        continue;
      }
      const entry = { seq: Number(m[1]), items: Number(m[2]), bytes: statSync(join(dir, name)).size };
      backlog.entries.push(entry);
      backlog.bytes += entry.bytes;
      backlog.nextSeq = entry.seq + 1;
    }
    try {
      const saved = JSON.parse(readFileSync(join(dir, 'dropped.json'), 'utf8')) as Partial<Record<DropReason, unknown>>;
      for (const reason of ['overflow', 'rejected'] as const) {
        const n = saved[reason];
        if (typeof n === 'number' && Number.isSafeInteger(n) && n >= 0) backlog.dropped[reason] = n;
      }
    } catch {
      // No counts yet (first run) or a file we did not write whole: start from zero.
    }
    return backlog;
  }

  /** Queue one batch; drops the oldest batches while the queue is over its cap. Returns the items dropped. */
  append(payload: Uint8Array, items: number): number {
    const entry = { seq: this.nextSeq++, items, bytes: payload.byteLength };
    const path = this.path(entry);
    try {
      writeFileSync(`${path}.tmp`, payload, { mode: 0o600 });
      renameSync(`${path}.tmp`, path);
    } catch (error: unknown) {
      throw new FileUnwritableError(path, error);
    }
    this.entries.push(entry);
    this.bytes += entry.bytes;
    let overflow = 0;
    // The newest batch always stays, even alone over the cap: it is the one worth sending.
    while (this.bytes > this.maxBytes && this.entries.length > 1) overflow += this.removeOldest();
    if (overflow > 0) this.count('overflow', overflow);
    return overflow;
  }

  /** The oldest batches, in order, up to `maxItems` items (at least one batch when any is queued). */
  oldest(maxItems: number): BacklogEntry[] {
    const out: BacklogEntry[] = [];
    let items = 0;
    for (const e of this.entries) {
      if (out.length > 0 && items + e.items > maxItems) break;
      out.push(e);
      items += e.items;
    }
    return out;
  }

  read(entry: BacklogEntry): Buffer {
    return readFileSync(this.path(entry));
  }

  /** The receiver took these (or refused them for good: `rejected`). They must be the oldest. */
  remove(entries: readonly BacklogEntry[], rejected = false): void {
    let items = 0;
    for (const e of entries) {
      const i = this.entries.findIndex((x) => x.seq === e.seq);
      if (i < 0) continue; // already dropped for overflow while it was being sent
      this.entries.splice(i, 1);
      this.bytes -= e.bytes;
      items += e.items;
      unlinkSync(this.path(e));
    }
    if (rejected && items > 0) this.count('rejected', items);
  }

  status(): BacklogStatus {
    return {
      pendingBatches: this.entries.length,
      pendingItems: this.entries.reduce((n, e) => n + e.items, 0),
      pendingBytes: this.bytes,
      maxBytes: this.maxBytes,
      dropped: { ...this.dropped },
    };
  }

  private removeOldest(): number {
    const e = this.entries.shift()!;
    this.bytes -= e.bytes;
    unlinkSync(this.path(e));
    return e.items;
  }

  private count(reason: DropReason, items: number): void {
    this.dropped[reason] += items;
    const path = join(this.dir, 'dropped.json');
    writeFileSync(`${path}.tmp`, JSON.stringify(this.dropped));
    renameSync(`${path}.tmp`, path);
  }

  private path(e: BacklogEntry): string {
    return join(this.dir, `${String(e.seq).padStart(12, '0')}.${e.items}.batch`);
  }
}
