/**
 * Network namespaces: naming one (`--netns NAME|PID|PATH`), finding them all, and reading the
 * files that show a namespace's state.
 *
 * A namespace is identified by the inode of its nsfs file (what `readlink /proc/PID/ns/net`
 * prints as net:[INODE]); `ip netns add NAME` bind-mounts that file at /run/netns/NAME
 * (ip-netns(8)). /proc/PID/net/* shows the namespace of process PID (proc_net,
 * fs/proc/proc_net.c), so a namespace with a process in it is read without entering it; one
 * without (a bare `ip netns add`) is read through the addon, which opens the file from inside
 * the namespace (native/sockdiag.c). /proc/sys/net/* always shows the reader's namespace, so
 * its sysctls need the addon.
 */
import { closeSync, readdirSync, readFileSync, readlinkSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { loadNative } from '../native/index.js';

export const NETNS_RUN_DIR = '/run/netns';

export interface NetnsRef {
  /** What the user wrote. */
  readonly spec: string;
  /** A file that is the namespace: /run/netns/NAME, /proc/PID/ns/net, or the path given. */
  readonly path: string;
  /** The namespace's identity (net:[INODE]). */
  readonly inode: number;
  /** A process in it, whose /proc/PID/net/* shows it; null when none was found. */
  readonly pid: number | null;
  /** Its `ip netns` name, when it has one. */
  readonly name: string | null;
}

function nsInode(path: string): number | null {
  try {
    return statSync(path).ino;
  } catch {
    return null;
  }
}

/** The namespace this process runs in. */
export function ownNetnsInode(): number {
  return nsInode('/proc/thread-self/ns/net') ?? nsInode('/proc/self/ns/net') ?? 0;
}

/** inode -> pids of every process whose /proc/PID/ns/net we can read. */
export function processesByNetns(): Map<number, number[]> {
  const byInode = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return byInode;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let link: string;
    try {
      link = readlinkSync(`/proc/${entry}/ns/net`);
    } catch {
      continue; // gone, or not ours to read
    }
    const match = /^net:\[(\d+)\]$/.exec(link);
    if (match === null) continue;
    const inode = Number(match[1]);
    const list = byInode.get(inode);
    if (list) list.push(Number(entry));
    else byInode.set(inode, [Number(entry)]);
  }
  return byInode;
}

/** name -> inode of every namespace `ip netns list` shows. */
export function namedNetns(): Map<string, number> {
  const names = new Map<string, number>();
  let entries: string[];
  try {
    entries = readdirSync(NETNS_RUN_DIR);
  } catch {
    return names;
  }
  for (const name of entries.sort()) {
    const inode = nsInode(join(NETNS_RUN_DIR, name));
    // An entry that is not (or no longer) a mounted namespace has the inode of an empty file.
    if (inode !== null && isNetns(join(NETNS_RUN_DIR, name))) names.set(name, inode);
  }
  return names;
}

/** Is this file a network namespace (an nsfs file), rather than any file? */
function isNetns(path: string): boolean {
  const own = ownNetnsDevice();
  try {
    return own !== null && statSync(path).dev === own;
  } catch {
    return false;
  }
}

let nsfsDevice: number | null | undefined;
function ownNetnsDevice(): number | null {
  if (nsfsDevice === undefined) {
    try {
      nsfsDevice = statSync('/proc/self/ns/net').dev;
    } catch {
      nsfsDevice = null;
    }
  }
  return nsfsDevice;
}

const EXAMPLE = 'give a name from `ip netns list`, a PID, or a path such as /proc/PID/ns/net or /run/netns/NAME';

/** `--netns NAME|PID|PATH` -> the namespace, or a usage error that says what exists. */
export function resolveNetns(spec: string): NetnsRef {
  const text = spec.trim();
  let path: string;
  let pid: number | null = null;
  let name: string | null = null;
  if (/^\d+$/.test(text)) {
    pid = Number(text);
    path = `/proc/${pid}/ns/net`;
    if (nsInode(path) === null) throw new UsageError(`--netns ${spec}: no process ${pid}, or its namespace cannot be read (root needed for other users' processes)`, EXAMPLE);
  } else if (text.includes('/')) {
    path = text;
    if (nsInode(path) === null) throw new UsageError(`--netns ${spec}: no such file`, EXAMPLE);
    if (!isNetns(path)) throw new UsageError(`--netns ${spec}: not a network namespace file`, EXAMPLE);
    const run = /^\/run\/netns\/([^/]+)$/.exec(text);
    if (run !== null) name = run[1]!;
  } else {
    if (text === '' || text === '.' || text === '..') throw new UsageError(`--netns "${spec}" names no namespace`, EXAMPLE);
    path = join(NETNS_RUN_DIR, text);
    if (nsInode(path) === null || !isNetns(path)) {
      const known = [...namedNetns().keys()];
      throw new UsageError(`--netns ${spec}: no namespace of that name (${known.length === 0 ? '`ip netns list` shows none' : `known: ${known.join(', ')}`})`, EXAMPLE);
    }
    name = text;
  }
  const inode = nsInode(path)!;
  if (pid === null) pid = processesByNetns().get(inode)?.[0] ?? null;
  if (name === null) name = [...namedNetns()].find(([, i]) => i === inode)?.[0] ?? null;
  return { spec, path, inode, pid, name };
}

/** A short label for notes and headers: the name, else net:[INODE]. */
export function netnsLabel(ns: NetnsRef): string {
  return ns.name ?? `net:[${ns.inode}]`;
}

/** Read all of an open fd (procfs files report no size). */
function readFd(fd: number): string {
  const chunks: Buffer[] = [];
  const chunk = Buffer.allocUnsafe(65536);
  try {
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(Buffer.from(chunk.subarray(0, n)));
    }
  } finally {
    closeSync(fd);
  }
  return Buffer.concat(chunks).toString('latin1');
}

/**
 * A file of /proc/PID/ (e.g. "net/tcp", "net/snmp") as the namespace shows it: through a
 * process in it when there is one, else opened from inside it by the addon. '' when absent.
 * Throws a UsageError when neither way is open (no process in it and no addon).
 */
export function readNetnsProcFile(ns: NetnsRef, relative: string): string {
  if (ns.pid !== null) {
    try {
      return readFileSync(`/proc/${ns.pid}/${relative}`, 'latin1');
    } catch (error: unknown) {
      const code = (error as { code?: string }).code;
      if (code === 'ENOENT' && nsInode(`/proc/${ns.pid}/ns/net`) === ns.inode) return '';
      // The process left (or changed namespace): go through the namespace itself.
    }
  }
  const { addon, error } = loadNative();
  if (addon === null) {
    throw new UsageError(`--netns ${ns.spec}: no process runs in that namespace, and entering it needs the native addon (${error})`);
  }
  let fd: number;
  try {
    fd = addon.openInNetns(ns.path, `/proc/thread-self/${relative}`);
  } catch (cause: unknown) {
    if ((cause as { code?: string }).code === 'ENOENT') return '';
    throw new UsageError(`--netns ${ns.spec}: cannot enter the namespace (${cause instanceof Error ? cause.message : String(cause)})`, 'entering a network namespace needs root (CAP_SYS_ADMIN)');
  }
  return readFd(fd);
}

/** A sysctl as the namespace sees it (net.* are per namespace), or null when absent or unreadable. */
export function readNetnsSysctl(ns: NetnsRef, name: string): string | null {
  const { addon } = loadNative();
  if (addon === null) return null;
  try {
    return readFd(addon.openInNetns(ns.path, join('/proc/sys', name.replace(/\./g, '/')))).trim().replace(/\s+/g, ' ');
  } catch {
    return null;
  }
}
