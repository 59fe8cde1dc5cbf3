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
import type { AddressFamily } from '../../model/socket.js';
import type { Owner, ProcessLookup } from '../../analysis/trace/tracker.js';
import { readSocketTable } from '../index.js';

const RESCAN_INTERVAL_MS = 1000;
const CACHE_LIMIT = 65536;

export class ProcProcessLookup implements ProcessLookup {
  private readonly tids = new Map<number, Owner | null>();
  private readonly listeners = new Map<number, Owner | null>();
  private lastScanMs = -Infinity;

  /** tracefs' own pid -> comm / tgid tables, for tasks that exited before we looked. */
  private saved: { readonly atMs: number; readonly comm: Map<number, string>; readonly tgid: Map<number, number> } | null = null;

  constructor(private readonly procRoot = '/proc', private readonly tracefsRoot: string | null = null) {}

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

  noteListener(_family: AddressFamily, port: number, owner: Owner): void {
    this.listeners.set(port, owner);
  }

  private scanListeners(): void {
    this.lastScanMs = Date.now();
    const { sockets } = readSocketTable({ states: ['LISTEN'], withInfo: false, withProcesses: true });
    for (const sock of sockets) {
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
    if (this.tracefsRoot === null) return null;
    if (this.saved === null || Date.now() - this.saved.atMs > 500) {
      this.saved = { atMs: Date.now(), comm: readPairs(`${this.tracefsRoot}/saved_cmdlines`, (v) => v), tgid: readPairs(`${this.tracefsRoot}/saved_tgids`, Number) };
    }
    const tgid = this.saved.tgid.get(tid) ?? tid;
    const comm = this.saved.comm.get(tgid) ?? this.saved.comm.get(tid);
    return comm === undefined ? null : { pid: tgid, process: comm };
  }
}

/** "PID VALUE" lines (saved_cmdlines, saved_tgids) as a map; unreadable means empty. */
function readPairs<T>(path: string, parse: (text: string) => T): Map<number, T> {
  const map = new Map<number, T>();
  let text = '';
  try {
    text = readFileSync(path, 'latin1');
  } catch {
    return map;
  }
  for (const line of text.split('\n')) {
    const space = line.indexOf(' ');
    if (space <= 0) continue;
    const pid = Number(line.slice(0, space));
    if (Number.isInteger(pid) && pid > 0) map.set(pid, parse(line.slice(space + 1).trim()));
  }
  return map;
}
