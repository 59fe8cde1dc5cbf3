/**
 * Process attribution for trace events, from /proc, with caches so a burst of 10^5 events
 * costs a handful of /proc reads:
 * - a tracepoint's common_pid is a thread id: /proc/TID/status gives its Tgid (the process);
 * - a passive open happens in softirq, where the interrupted task is nobody in particular: the
 *   owner is the process holding the listener, found through the socket table (LISTEN only,
 *   filtered in the kernel by sock_diag; /proc/net/tcp without the addon) and /proc/PID/fd
 *   (inode -> process), rescanned at most once a second. Reading all of /proc/net/tcp here cost
 *   100 ms per scan with 20k TIME_WAIT sockets around.
 */
import { readFileSync } from 'node:fs';
import type { AddressFamily, TcpSocket } from '../../model/socket.js';
import type { Owner, ProcessLookup } from '../../model/process.js';

/** The kernel's record of tasks it traced, for those that exited before we looked. */
export interface SavedTasks {
  /** pid -> comm (tracefs saved_cmdlines). */
  readonly comm: ReadonlyMap<number, string>;
  /** tid -> tgid (tracefs saved_tgids, with options/record-tgid). */
  readonly tgid: ReadonlyMap<number, number>;
}

export interface ProcProcessLookupOptions {
  readonly procRoot?: string;
  /** The LISTEN sockets with their owners (the registry passes a filtered sock_diag dump). */
  readonly listListeners: () => readonly TcpSocket[];
  /** The tracer's saved task tables, when a tracer keeps them. */
  readonly savedTasks?: () => SavedTasks;
  /** Every connection (not LISTEN) with its owner, for connectionOwner. */
  readonly listConnections?: () => readonly TcpSocket[];
}

function tupleKey(family: AddressFamily, la: string, lp: number, ra: string, rp: number): string {
  return `${family}|${la}|${lp}|${ra}|${rp}`;
}

const RESCAN_INTERVAL_MS = 1000;
const CACHE_LIMIT = 65536;

export class ProcProcessLookup implements ProcessLookup {
  private readonly tids = new Map<number, Owner | null>();
  private readonly listeners = new Map<number, Owner | null>();
  private lastScanMs = -Infinity;
  private readonly connections = new Map<string, Owner>();
  private nextConnectionScanMs = -Infinity;

  /** The tracer's pid -> comm / tgid tables, for tasks that exited before we looked. */
  private saved: { readonly atMs: number; readonly tasks: SavedTasks } | null = null;
  private readonly procRoot: string;

  constructor(private readonly options: ProcProcessLookupOptions) {
    this.procRoot = options.procRoot ?? '/proc';
  }

  byTid(tid: number): Owner | null {
    const cached = this.tids.get(tid);
    if (cached !== undefined) return cached;
    const owner = this.readOwner(tid);
    if (this.tids.size >= CACHE_LIMIT) this.tids.clear();
    this.tids.set(tid, owner);
    return owner;
  }

  listenerOwner(_family: AddressFamily, port: number): Owner | null {
    const cached = this.listeners.get(port);
    if (cached !== undefined && cached !== null) return cached;
    if (Date.now() - this.lastScanMs < RESCAN_INTERVAL_MS) return cached ?? null;
    this.scanListeners();
    return this.listeners.get(port) ?? null;
  }

  prime(): void {
    this.scanListeners();
  }

  /**
   * A miss rescans the table, but rarely (scanConnections): a socket table with owners costs a
   * walk of every /proc/PID/fd, and retransmissions on an orphaned socket (closed by its
   * process, still sending) would otherwise ask for one per event.
   */
  connectionOwner(family: AddressFamily, localAddress: string, localPort: number, remoteAddress: string, remotePort: number): Owner | null {
    if (this.options.listConnections === undefined) return null;
    const key = tupleKey(family, localAddress, localPort, remoteAddress, remotePort);
    const cached = this.connections.get(key);
    if (cached !== undefined) return cached;
    if (Date.now() < this.nextConnectionScanMs) return null;
    this.scanConnections();
    return this.connections.get(key) ?? null;
  }

  primeConnections(): void {
    this.scanConnections();
  }

  /** At most a tenth of the time goes to scans: the next waits ten times this one's duration (1 s at least). */
  private scanConnections(): void {
    const startMs = Date.now();
    if (this.connections.size >= CACHE_LIMIT) this.connections.clear();
    for (const s of this.options.listConnections?.() ?? []) {
      if (s.pid !== null && s.process !== null) {
        this.connections.set(tupleKey(s.family, s.local.address, s.local.port, s.remote.address, s.remote.port), { pid: s.pid, process: s.process });
      }
    }
    const endMs = Date.now();
    this.nextConnectionScanMs = endMs + Math.max(RESCAN_INTERVAL_MS, 10 * (endMs - startMs));
  }

  noteListener(_family: AddressFamily, port: number, owner: Owner): void {
    this.listeners.set(port, owner);
  }

  private scanListeners(): void {
    this.lastScanMs = Date.now();
    for (const sock of this.options.listListeners()) {
      const port = sock.local.port;
      if (sock.pid !== null && sock.process !== null) this.listeners.set(port, { pid: sock.pid, process: sock.process });
      else if (!this.listeners.has(port)) this.listeners.set(port, null);
    }
  }

  private readOwner(tid: number): Owner | null {
    try {
      const status = readFileSync(`${this.procRoot}/${tid}/status`, 'latin1');
      const tgid = Number(/^Tgid:\s*(\d+)/m.exec(status)?.[1] ?? tid);
      let name: string;
      try {
        name = readFileSync(`${this.procRoot}/${tgid}/comm`, 'latin1').trimEnd();
      } catch {
        name = /^Name:\s*(.*)$/m.exec(status)?.[1] ?? '?';
      }
      return { pid: tgid, process: name };
    } catch {
      return this.fromSavedTables(tid); // the thread exited before we looked
    }
  }

  /**
   * The kernel records the comm (saved_cmdlines) and, with options/record-tgid, the process
   * (saved_tgids) of tasks it traced: how ftrace names short-lived tasks after they exit.
   */
  private fromSavedTables(tid: number): Owner | null {
    if (this.options.savedTasks === undefined) return null;
    if (this.saved === null || Date.now() - this.saved.atMs > 500) {
      this.saved = { atMs: Date.now(), tasks: this.options.savedTasks() };
    }
    const { comm, tgid } = this.saved.tasks;
    const pid = tgid.get(tid) ?? tid;
    const name = comm.get(pid) ?? comm.get(tid);
    return name === undefined ? null : { pid, process: name };
  }
}
