/**
 * Process attribution for trace events, from /proc, with caches so a burst of 10^5 events
 * costs a handful of /proc reads:
 * - a tracepoint's common_pid is a thread id: /proc/TID/status gives its Tgid (the process);
 * - a passive open happens in softirq, where the interrupted task is nobody in particular: the
 *   owner is the process holding the listener, found through /proc/net/tcp{,6} (listening port
 *   -> socket inode) and /proc/PID/fd (inode -> process), rescanned at most once a second.
 */
import { readFileSync } from 'node:fs';
import type { AddressFamily } from '../../model/socket.js';
import type { Owner, ProcessLookup } from '../../analysis/trace/tracker.js';
import { readProcTcpTable } from '../procfs/tcp-table.js';
import { scanSocketOwners } from '../procfs/processes.js';

const RESCAN_INTERVAL_MS = 1000;
const CACHE_LIMIT = 65536;

export class ProcProcessLookup implements ProcessLookup {
  private readonly tids = new Map<number, Owner | null>();
  private readonly listeners = new Map<number, Owner | null>();
  private lastScanMs = -Infinity;

  constructor(private readonly procRoot = '/proc') {}

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
    const byInode = new Map<number, number>();
    for (const sock of readProcTcpTable(this.procRoot)) {
      if (sock.state === 'LISTEN' && sock.inode !== 0) byInode.set(sock.inode, sock.local.port);
    }
    const { owners } = scanSocketOwners({ procRoot: this.procRoot, inodes: new Set(byInode.keys()) });
    for (const [inode, port] of byInode) {
      const first = owners.get(inode)?.[0];
      if (first !== undefined) this.listeners.set(port, { pid: first.pid, process: first.process });
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
      return null; // the thread exited before we looked
    }
  }
}
