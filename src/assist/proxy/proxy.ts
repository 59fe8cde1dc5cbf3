/**
 * `tcpdiag proxy`: a fault-injecting TCP proxy. Each accepted client gets its own upstream
 * connection; the two directions run through the toxics of a shared, live ToxicSet.
 * Library code: events go to a callback.
 */
import net from 'node:net';
import { TcpdiagError, describeSystemError, systemError } from '../../errors.js';
import { formatHostPort } from '../client/endpoint.js';
import { Link } from './link.js';
import type { ToxicSet } from './toxics.js';

export interface ProxyOptions {
  readonly listenHost: string;
  readonly listenPort: number;
  readonly upstreamHost: string;
  readonly upstreamPort: number;
  readonly connectTimeoutMs: number;
  readonly toxics: ToxicSet;
}

export type ProxyEvent =
  | { readonly type: 'connection'; readonly id: number; readonly client: string; readonly upstream: string }
  | { readonly type: 'upstream-failed'; readonly id: number; readonly client: string; readonly message: string }
  | { readonly type: 'toxic-action'; readonly id: number; readonly message: string }
  | { readonly type: 'close'; readonly id: number; readonly bytesUp: number; readonly bytesDown: number; readonly durationMs: number };

export interface ProxyStats {
  readonly connectionsTotal: number;
  readonly connectionsOpen: number;
  readonly bytesUp: number;
  readonly bytesDown: number;
}

export interface RunningProxy {
  readonly address: string;
  readonly port: number;
  stats(): ProxyStats;
  close(): Promise<void>;
}

export async function startProxy(options: ProxyOptions, emit: (event: ProxyEvent) => void): Promise<RunningProxy> {
  let nextId = 1;
  let bytesUp = 0;
  let bytesDown = 0;
  const open = new Set<net.Socket>();
  const upstreamName = formatHostPort(options.upstreamHost, options.upstreamPort);

  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (client) => {
    const id = nextId++;
    const started = Date.now();
    const clientName = formatHostPort(client.remoteAddress ?? '?', client.remotePort ?? 0);
    open.add(client);
    client.on('error', () => undefined); // handled through 'close' below
    const upstream = net.connect({ host: options.upstreamHost, port: options.upstreamPort, allowHalfOpen: true, noDelay: true });
    open.add(upstream);
    upstream.on('error', () => undefined);
    let links: Link[] = [];
    let upstreamFailure = `cannot reach ${upstreamName}`;
    let finished = false;
    const connectTimer = setTimeout(() => upstream.destroy(systemError('ETIMEDOUT', `no answer within ${options.connectTimeoutMs} ms`)), options.connectTimeoutMs);

    const finish = (): void => {
      if (finished) return;
      finished = true;
      for (const link of links) link.stop();
      const up = links[0]?.bytes ?? 0;
      const down = links[1]?.bytes ?? 0;
      bytesUp += up;
      bytesDown += down;
      open.delete(client);
      open.delete(upstream);
      if (links.length > 0) emit({ type: 'close', id, bytesUp: up, bytesDown: down, durationMs: Date.now() - started });
    };
    const hooks = {
      reset: (reason: string): void => {
        emit({ type: 'toxic-action', id, message: reason });
        // RST both ways, as a middlebox that kills the flow does.
        client.resetAndDestroy();
        upstream.resetAndDestroy();
        finish();
      },
      close: (reason: string): void => {
        emit({ type: 'toxic-action', id, message: reason });
        client.destroy();
        upstream.destroy();
        finish();
      },
    };

    upstream.once('connect', () => {
      clearTimeout(connectTimer);
      emit({ type: 'connection', id, client: clientName, upstream: formatHostPort(upstream.localAddress ?? '?', upstream.localPort ?? 0) + ` -> ${upstreamName}` });
      links = [new Link('upstream', client, upstream, options.toxics, hooks), new Link('downstream', upstream, client, options.toxics, hooks)];
      client.resume();
    });
    // An abortive close on one side (RST, error) is passed on as an RST to the other side; a
    // clean close after both FINs just ends.
    const onClose = (side: net.Socket, other: net.Socket) => (hadError: boolean) => {
      if (hadError && !other.destroyed) other.resetAndDestroy();
      else if (!other.destroyed && side === client && links.length === 0) other.destroy();
      if (client.destroyed && upstream.destroyed) finish();
    };
    client.on('close', onClose(client, upstream));
    upstream.on('close', (hadError) => {
      clearTimeout(connectTimer);
      if (links.length === 0 && !finished) {
        emit({ type: 'upstream-failed', id, client: clientName, message: upstreamFailure });
        // The client sees what it would see directly: a reset.
        if (!client.destroyed) client.resetAndDestroy();
        finish();
        return;
      }
      onClose(upstream, client)(hadError);
    });
    upstream.once('error', (error: NodeJS.ErrnoException) => {
      upstreamFailure = `cannot reach ${upstreamName}: ${describeSystemError(error)}`;
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(
        new TcpdiagError('TCPDIAG_LISTEN_FAILED', `cannot listen on ${formatHostPort(options.listenHost, options.listenPort)}: ${describeSystemError(error)}`, {
          hint: 'pick another --listen port (0 lets the kernel choose)',
          cause: error,
        }),
      ),
    );
    server.listen({ host: options.listenHost, port: options.listenPort }, () => resolve());
  });
  const address = server.address() as net.AddressInfo;
  return {
    address: address.address,
    port: address.port,
    stats: () => ({ connectionsTotal: nextId - 1, connectionsOpen: open.size / 2, bytesUp, bytesDown }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        for (const socket of open) socket.destroy();
      }),
  };
}
