/**
 * The load loop's view of one TCP connection: connect, write, bytes in, end, error, close.
 * Two implementations:
 *  - `handle`: libuv TCP handles through Node's own tcp_wrap/stream_wrap bindings (what
 *    net.Socket is built on), without the stream machinery around them. Opening a connection
 *    costs a fraction of a net.Socket (no Duplex, no state objects, no nextTick hops), which is
 *    what limits a new-connection-per-request load in Node: measured here, a single event loop
 *    opened ~12k connections/s through net.Socket and ~18k/s through the handles.
 *    process.binding is deprecated (DEP0111, documentation-only in Node 20), so the bindings
 *    are feature-checked once and anything unexpected falls back to `net`.
 *  - `net`: net.Socket, the public API; also wraps sockets created elsewhere (connectWithMss).
 */
import net from 'node:net';
import tls from 'node:tls';
import { getSystemErrorName } from 'node:util';
import { socketFd } from '../socket-options.js';
import { systemError } from '../../errors.js';

export interface ConnEvents {
  onConnect(): void;
  /** `nread` bytes at the start of `buf` (the caller's read buffer; copy what you keep). */
  onData(nread: number, buf: Buffer): void;
  /** The peer sent FIN. */
  onEnd(): void;
  /** Connect or I/O failed; `error.code` is the errno name (ECONNREFUSED, ECONNRESET...). */
  onError(error: Error): void;
}

export interface Conn {
  write(data: Buffer): void;
  /** Close now; no more events are delivered afterwards. */
  close(): void;
  /** The file descriptor (for tcp_info), or null once closed. */
  fd(): number | null;
}

/** tls: net.Socket under a TLSSocket (https targets; libuv handles cannot carry TLS). */
export type TransportKind = 'handle' | 'net' | 'tls';

/** How TLS connections check the server (structured-clonable: it goes to worker threads). */
export interface TlsSettings {
  /** SNI and the name the certificate must carry; null for a numeric address (checked against its IP SANs). */
  readonly servername: string | null;
  /** false with --insecure: any certificate is accepted. */
  readonly verify: boolean;
  /** Extra CA certificates (PEM) to trust besides Node's bundle (--ca). */
  readonly ca: string | null;
}

/** Open a connection to a numeric address; events go to `events`, reads land in `readBuffer`. */
export type Dialer = (address: string, port: number, readBuffer: Buffer, events: ConnEvents) => Conn;

function errnoError(status: number, syscall: string, address: string, port: number): Error {
  let code: string;
  try {
    code = getSystemErrorName(status);
  } catch {
    code = `E${-status}`;
  }
  return systemError(code, `${syscall} ${code} ${address}:${port}`, { errno: status, syscall });
}

// ---- net.Socket ---------------------------------------------------------------------------

class NetConn implements Conn {
  private closed = false;

  constructor(private readonly socket: net.Socket, events: ConnEvents, connected: boolean, usesOnread: boolean) {
    socket.on('error', (error: Error) => {
      if (!this.closed) events.onError(error);
    });
    socket.on('end', () => {
      if (!this.closed) events.onEnd();
    });
    socket.on('close', () => {
      // A close we did not ask for and that no 'error'/'end' announced.
      if (!this.closed) events.onError(systemError('TCPDIAG_CLOSED', 'connection closed'));
    });
    if (!usesOnread) socket.on('data', (chunk: Buffer) => {
      if (!this.closed) events.onData(chunk.length, chunk);
    });
    if (connected) socket.setNoDelay(true);
    else socket.once('connect', () => {
      if (!this.closed) events.onConnect();
    });
  }

  write(data: Buffer): void {
    this.socket.write(data);
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }

  fd(): number | null {
    return this.closed ? null : socketFd(this.socket);
  }
}

export const dialNet: Dialer = (address, port, readBuffer, events) => {
  let conn: NetConn | null = null;
  const socket = net.connect({
    host: address,
    port,
    noDelay: true,
    onread: { buffer: readBuffer, callback: (nread: number, buf: Uint8Array): boolean => {
      if (conn !== null) events.onData(nread, buf as Buffer);
      return true;
    } },
  });
  conn = new NetConn(socket, events, false, true);
  return conn;
};

/**
 * TLS over a plain TCP socket: onConnect fires once the handshake is done, so the connect
 * percentiles include it (as wrk's). The fd for tcp_info is the TCP socket's.
 */
export function wrapTls(raw: net.Socket, address: string, settings: TlsSettings, events: ConnEvents): Conn {
  const secure = tls.connect({
    socket: raw,
    ...(settings.servername === null ? {} : { servername: settings.servername }),
    // Node checks a numeric address against the certificate's IP SANs through `host`.
    host: settings.servername ?? address,
    rejectUnauthorized: settings.verify,
    ...(settings.ca === null ? {} : { ca: [...tls.rootCertificates, settings.ca] }),
    ALPNProtocols: ['http/1.1'],
  });
  return new TlsConn(secure, raw, events);
}

export function tlsDialer(settings: TlsSettings): Dialer {
  return (address, port, _readBuffer, events) => wrapTls(net.connect({ host: address, port, noDelay: true }), address, settings, events);
}

class TlsConn implements Conn {
  private closed = false;

  constructor(private readonly secure: tls.TLSSocket, private readonly raw: net.Socket, events: ConnEvents) {
    secure.on('error', (error: Error) => {
      if (!this.closed) events.onError(error);
    });
    secure.on('end', () => {
      if (!this.closed) events.onEnd();
    });
    secure.on('close', () => {
      if (!this.closed) events.onError(systemError('TCPDIAG_CLOSED', 'connection closed'));
    });
    secure.on('data', (chunk: Buffer) => {
      if (!this.closed) events.onData(chunk.length, chunk);
    });
    secure.once('secureConnect', () => {
      if (!this.closed) events.onConnect();
    });
  }

  write(data: Buffer): void {
    this.secure.write(data);
  }

  close(): void {
    this.closed = true;
    this.secure.destroy();
    this.raw.destroy();
  }

  fd(): number | null {
    return this.closed ? null : socketFd(this.raw);
  }
}

/** Wrap an already connected net.Socket (from connectWithMss). */
export function adoptSocket(socket: net.Socket, events: ConnEvents): Conn {
  return new NetConn(socket, events, true, false);
}

// ---- libuv handles ------------------------------------------------------------------------

interface TcpHandle {
  onread: (arrayBuffer: ArrayBuffer | undefined) => void;
  readonly fd: number;
  connect(req: object, address: string, port: number): number;
  connect6(req: object, address: string, port: number): number;
  readStart(): number;
  useUserBuffer(buf: Uint8Array): void;
  setNoDelay(enable: boolean): number;
  writeBuffer(req: object, data: Uint8Array): number;
  close(callback?: () => void): void;
}

interface Bindings {
  readonly TCP: new (type: number) => TcpHandle;
  readonly TCPConnectWrap: new () => { oncomplete: (status: number) => void };
  readonly SOCKET: number;
  readonly WriteWrap: new () => { handle: TcpHandle; oncomplete: (status: number) => void; async: boolean; buffer?: Buffer };
  readonly streamBaseState: Int32Array;
  readonly kReadBytesOrError: number;
}

const ignoreRead = (): void => undefined;

// The load loop dials one address over and over: test its family once (net.isIPv6 is a regex).
let lastAddress = '';
let lastIsIPv6 = false;
function isIPv6Cached(address: string): boolean {
  if (address !== lastAddress) {
    lastAddress = address;
    lastIsIPv6 = net.isIPv6(address);
  }
  return lastIsIPv6;
}

/** libuv's UV_EOF (uv-errno.h): the read side ended with a FIN. */
const UV_EOF = -4095;

let bindings: Bindings | null | undefined;

function loadBindings(): Bindings | null {
  if (bindings !== undefined) return bindings;
  bindings = null;
  try {
    const binding = (process as unknown as { binding?: (name: string) => Record<string, unknown> }).binding;
    if (typeof binding !== 'function') return null;
    const tcp = binding('tcp_wrap');
    const stream = binding('stream_wrap');
    const constants = tcp.constants as Record<string, unknown> | undefined;
    const candidate = {
      TCP: tcp.TCP,
      TCPConnectWrap: tcp.TCPConnectWrap,
      SOCKET: constants?.SOCKET,
      WriteWrap: stream.WriteWrap,
      streamBaseState: stream.streamBaseState,
      kReadBytesOrError: stream.kReadBytesOrError,
    };
    const proto = typeof candidate.TCP === 'function' ? (candidate.TCP as { prototype: Record<string, unknown> }).prototype : {};
    const methods = ['connect', 'connect6', 'readStart', 'useUserBuffer', 'setNoDelay', 'writeBuffer', 'close'];
    if (
      typeof candidate.TCP === 'function' && typeof candidate.TCPConnectWrap === 'function' && typeof candidate.SOCKET === 'number' &&
      typeof candidate.WriteWrap === 'function' && candidate.streamBaseState instanceof Int32Array &&
      typeof candidate.kReadBytesOrError === 'number' && methods.every((m) => typeof proto[m] === 'function')
    ) {
      bindings = candidate as unknown as Bindings;
    }
  } catch {
    bindings = null;
  }
  return bindings;
}

class HandleConn implements Conn {
  private closed = false;
  private connected = false;

  constructor(
    private readonly b: Bindings,
    private readonly handle: TcpHandle,
    private readonly address: string,
    private readonly port: number,
    private readonly readBuffer: Buffer,
    private readonly events: ConnEvents,
  ) {}

  start(): void {
    const req = new this.b.TCPConnectWrap();
    req.oncomplete = (status: number) => this.afterConnect(status);
    const err = isIPv6Cached(this.address)
      ? this.handle.connect6(req, this.address, this.port)
      : this.handle.connect(req, this.address, this.port);
    if (err !== 0) {
      // Synchronous failure (EADDRNOTAVAIL, EMFILE...): report it asynchronously like the rest.
      setImmediate(() => this.fail(err, 'connect'));
    }
  }

  private afterConnect(status: number): void {
    if (this.closed) return;
    if (status !== 0) return this.fail(status, 'connect');
    this.connected = true;
    this.handle.setNoDelay(true);
    this.handle.useUserBuffer(this.readBuffer);
    this.handle.onread = () => this.afterRead();
    const err = this.handle.readStart();
    if (err !== 0) return this.fail(err, 'read');
    this.events.onConnect();
  }

  private afterRead(): void {
    if (this.closed) return;
    const nread = this.b.streamBaseState[this.b.kReadBytesOrError] ?? 0;
    if (nread > 0) return this.events.onData(nread, this.readBuffer);
    if (nread === 0) return;
    if (nread === UV_EOF) return this.events.onEnd();
    this.fail(nread, 'read');
  }

  private fail(status: number, syscall: string): void {
    if (this.closed) return;
    const error = errnoError(status, syscall, this.address, this.port);
    this.close();
    this.events.onError(error);
  }

  write(data: Buffer): void {
    if (this.closed || !this.connected) return;
    const req = new this.b.WriteWrap();
    req.handle = this.handle;
    req.async = false;
    // Keep the bytes alive until an asynchronous write completes (as net does with req.buffer).
    req.buffer = data;
    req.oncomplete = (status: number) => {
      if (status < 0) this.fail(status, 'write');
    };
    const err = this.handle.writeBuffer(req, data);
    if (err !== 0) this.fail(err, 'write');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // The binding accepts only a function here (a non-function aborts the process).
    this.handle.onread = ignoreRead;
    this.handle.close();
  }

  fd(): number | null {
    return this.closed ? null : this.handle.fd;
  }
}

export const dialHandle: Dialer = (address, port, readBuffer, events) => {
  const b = loadBindings();
  if (b === null) return dialNet(address, port, readBuffer, events);
  const conn = new HandleConn(b, new b.TCP(b.SOCKET), address, port, readBuffer, events);
  conn.start();
  return conn;
};

/** The dialer for a transport; `handle` falls back to `net` when the bindings are not usable. */
export function dialerFor(kind: TransportKind): { dial: Dialer; kind: TransportKind } {
  if (kind === 'handle' && loadBindings() !== null) return { dial: dialHandle, kind: 'handle' };
  return { dial: dialNet, kind: 'net' };
}
