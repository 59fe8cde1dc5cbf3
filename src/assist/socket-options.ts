/**
 * The kernel's view of a socket this process owns (tcp_info through getsockopt), and
 * connecting with an MSS set before the SYN, through the native addon. Both degrade cleanly
 * when the addon is not built.
 */
import net from 'node:net';
import { isIP } from 'node:net';
import { decodeTcpInfo } from '../model/tcp-info.js';
import { tcpStateToKernel } from '../model/tcp-state.js';
import { readSockets } from '../sources/sockets.js';
import type { TcpInfo } from '../model/tcp-info.js';
import { loadNative } from '../native/index.js';
import { TcpdiagError, UsageError, TimeoutError, KernelFeatureError } from '../errors.js';

/** The file descriptor under a connected net.Socket (libuv's TCP handle), or null. */
export function socketFd(socket: net.Socket): number | null {
  const handle = (socket as unknown as { _handle?: { fd?: unknown } })._handle;
  return typeof handle?.fd === 'number' && handle.fd >= 0 ? handle.fd : null;
}

/** tcp_info of a socket we own; null when the addon is missing or the socket is gone. */
export function tcpInfoOf(socket: net.Socket): TcpInfo | null {
  const { addon } = loadNative();
  const fd = socketFd(socket);
  if (addon === null || fd === null) return null;
  try {
    return decodeTcpInfo(addon.getTcpInfo(fd));
  } catch {
    return null;
  }
}

/**
 * The kernel's TCP state of a socket we own (include/net/tcp_states.h: 1 ESTABLISHED, 7 CLOSE,
 * 8 CLOSE_WAIT), or null when it cannot be read: through the addon's TCP_INFO, else from
 * /proc/net/tcp{,6} by the socket's 4-tuple (a socket the kernel closed is no longer listed
 * there: CLOSE).
 */
export function tcpStateOf(socket: net.Socket): number | null {
  const fd = socketFd(socket);
  if (fd !== null) {
    const state = kernelStateOf(fd);
    if (state !== null) return state;
  }
  const local = socket.localPort;
  const remote = socket.remotePort;
  if (local === undefined || remote === undefined) return null;
  try {
    const found = readSockets({ withInfo: false, withOwners: false }, { backend: 'procfs' }).data
      .find((s) => s.local.port === local && s.remote.port === remote && s.remote.address === socket.remoteAddress);
    return found === undefined ? 7 : tcpStateToKernel(found.state);
  } catch {
    return null;
  }
}

/** Raw kernel TCP state number of a socket we own (1 = ESTABLISHED), or null. */
function kernelStateOf(fd: number): number | null {
  const { addon } = loadNative();
  if (addon === null) return null;
  try {
    return addon.getTcpInfo(fd)[0] ?? null;
  } catch {
    return null;
  }
}

export interface MssConnectOptions {
  /** Numeric IPv4 or IPv6 address (resolve names first). */
  readonly address: string;
  readonly port: number;
  /** TCP_MAXSEG before the SYN: the MSS option this side advertises (RFC 9293 3.7.1). */
  readonly mss: number;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/**
 * Connect with TCP_MAXSEG set before the SYN. Node creates its fd inside connect(), too late
 * for the option, so the addon creates and connects the socket and Node adopts the fd.
 * Resolves once ESTABLISHED; rejects with the connect error (ECONNREFUSED...) or a timeout.
 */
export function connectWithMss(options: MssConnectOptions): Promise<net.Socket> {
  const { addon, error } = loadNative();
  if (addon === null) {
    return Promise.reject(
      new KernelFeatureError(`--mss needs the native addon: ${error}`, 'rebuild it: npm run install (needs python3, make, g++)'),
    );
  }
  if (isIP(options.address) === 0) {
    return Promise.reject(new UsageError(`connectWithMss: "${options.address}" is not a numeric address`));
  }
  let fd: number;
  try {
    fd = addon.connectWithMss(options.address, options.port, options.mss);
  } catch (cause: unknown) {
    return Promise.reject(cause instanceof Error ? cause : new TcpdiagError('TCPDIAG_CONNECT_FAILED', String(cause)));
  }
  const socket = new net.Socket({ fd, readable: true, writable: true });
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const finish = (err: Error | null): void => {
      if (timer !== undefined) clearTimeout(timer);
      socket.off('error', onError);
      options.signal?.removeEventListener('abort', onAbort);
      if (err) {
        socket.destroy();
        reject(err);
      } else resolve(socket);
    };
    const onError = (err: Error): void => finish(err);
    const onAbort = (): void => finish(new TimeoutError('connect aborted'));
    socket.once('error', onError);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    // An adopted fd emits no 'connect'; the kernel's state says when the handshake is done.
    // A refused or reset connect surfaces as a read error on the socket ('error' above).
    const poll = (): void => {
      const state = kernelStateOf(fd);
      if (state === 1) return finish(null);
      if (Date.now() - started > options.timeoutMs) {
        return finish(new TimeoutError(`no SYN-ACK from ${options.address}:${options.port} within ${options.timeoutMs} ms`));
      }
      timer = setTimeout(poll, 1);
    };
    poll();
  });
}
