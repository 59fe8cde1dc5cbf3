/**
 * Loader for the optional N-API addon in native/ (built by `npm install`). Everything that uses
 * it has a fallback; `nativeAddon()` returns null with the reason when it is not built, so
 * callers can say what they fell back to.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';

export interface NativeAddon {
  /**
   * Raw netlink messages of one dump of TCP sockets: family 2 or 10, or 0 for both in one walk
   * of the kernel's tables; `bytecode` an inet_diag filter program the kernel runs on each
   * socket; `netnsPath` a network namespace to dump instead of ours.
   */
  sockDiagDump(family: number, statesMask: number, wantInfo: boolean, bytecode?: Buffer | null, netnsPath?: string | null): Buffer;
  /** open(path, O_RDONLY) from inside the network namespace at netnsPath; returns the fd. */
  openInNetns(netnsPath: string, path: string): number;
  /** getsockopt(TCP_INFO) on an fd this process owns; decode with decodeTcpInfo(). */
  getTcpInfo(fd: number): Buffer;
  /** tcpi_total_retrans of an fd this process owns, or -1 when it cannot be read (no throw). */
  tcpTotalRetrans(fd: number): number;
  setIntSockOpt(fd: number, level: number, name: number, value: number): void;
  getIntSockOpt(fd: number, level: number, name: number): number;
  /** socket() + TCP_MAXSEG + non-blocking connect(); returns the fd for net.Socket({ fd }). */
  connectWithMss(ip: string, port: number, mss: number): number;
  /**
   * Socket fds under procRoot/PID/fd whose inode is in `wanted` (sorted; null: every socket), as
   * parallel arrays. Optional: an addon built before it has the rest, and owners are then
   * scanned in TypeScript.
   */
  scanSocketInodes?(procRoot: string, wanted: Uint32Array | null): SocketInodeScan;
  /**
   * NFQUEUE holder (native/nfqueue.c), optional so an older build still serves the rest: bind
   * queue N and hold each packet delayUs +- jitterUs (heldPercent of them; the rest pass at
   * once) on a thread of its own. Throws EBUSY when another process has the queue.
   */
  nfqueueOpen?(queue: number, delayUs: number, jitterUs: number, heldPercent: number): number;
  nfqueueStats?(handle: number): NfqueueStats;
  /** Accept every held packet, unbind, and return the final counters. */
  nfqueueClose?(handle: number): NfqueueStats;
}

export interface SocketInodeScan {
  readonly inodes: Uint32Array;
  readonly pids: Int32Array;
  readonly fds: Int32Array;
  /** Processes whose fd directory could not be opened (EACCES/EPERM). */
  readonly unreadable: number;
}

export interface NfqueueStats {
  readonly queue: number;
  readonly received: number;
  readonly released: number;
  /** reorder: packets not held. */
  readonly passedAtOnce: number;
  readonly held: number;
  readonly maxHeld: number;
  /** Netlink messages the kernel dropped (ENOBUFS): those packets wait until the unbind. */
  readonly lostMessages: number;
  readonly verdictErrors: number;
  /** How late releases were against their intended time. */
  readonly lateCount: number;
  readonly lateMeanUs: number;
  readonly lateMaxUs: number;
  /** Bucket b counts releases late by [2^b, 2^(b+1)) microseconds (b = 0: under 2 us). */
  readonly lateBucketsLog2Us: readonly number[];
}

export type NativeLoad = { readonly addon: NativeAddon; readonly error: null } | { readonly addon: null; readonly error: string };

/** Linux socket option numbers the addon is called with (include/uapi/linux/tcp.h, asm-generic/socket.h). */
export const SOL_SOCKET = 1;
export const IPPROTO_TCP = 6;
export const TCP_MAXSEG = 2;
export const TCP_NODELAY = 1;
export const SO_RCVBUF = 8;
export const SO_SNDBUF = 7;

let cached: NativeLoad | undefined;

const ADDON_FUNCTIONS: readonly (keyof NativeAddon)[] = [
  'sockDiagDump', 'getTcpInfo', 'tcpTotalRetrans', 'setIntSockOpt', 'getIntSockOpt', 'connectWithMss', 'openInNetns',
];

/**
 * This module's own file: from import.meta in the ES modules, from __filename in the CommonJS
 * start-up bundles (dist/fast/*.cjs, see cli/launcher.cts), where import.meta is empty.
 */
function thisFile(): string {
  return typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url);
}

export function loadNative(): NativeLoad {
  if (cached) return cached;
  const file = thisFile();
  const path = findAddon(dirname(file));
  try {
    const require = createRequire(file);
    const loaded = require(path) as Record<string, unknown>;
    // An addon built from older sources (the TypeScript rebuilt, `npm run install` not rerun)
    // lacks newer functions: treat it as absent, with the fix, rather than fail mid-command.
    const missing = ADDON_FUNCTIONS.filter((name) => typeof loaded[name] !== 'function');
    cached = missing.length === 0
      ? { addon: loaded as unknown as NativeAddon, error: null }
      : { addon: null, error: `native addon out of date (no ${missing.join(', ')}); run \`npm run install\` to rebuild it` };
  } catch (error: unknown) {
    const reason = error instanceof Error ? error.message.split('\n')[0] ?? error.message : String(error);
    cached = { addon: null, error: `native addon not built (${reason}); run \`npm run install\` with python3, make and g++ present` };
  }
  return cached;
}

const ADDON = join('native', 'build', 'Release', 'tcpdiag.node');

/** The addon sits at <package root>/native/build/...; search upwards so any build layout finds it. */
function findAddon(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, ADDON);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return join(start, '..', '..', '..', ADDON); // not built: report the expected path
  }
}

export function nativeAddon(): NativeAddon | null {
  return loadNative().addon;
}
