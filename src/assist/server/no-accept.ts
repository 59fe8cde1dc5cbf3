/**
 * A listener that never accepts, for reproducing listen-queue overflow. libuv accepts every
 * connection as soon as the listening fd is readable and Node offers no way to stop it, so the
 * listener lives in a worker thread whose event loop is parked in Atomics.wait: the kernel
 * completes handshakes into the accept queue (at most backlog + 1, sk_acceptq_is_full() in
 * include/net/sock.h) and then drops SYNs (ListenOverflows / ListenDrops in /proc/net/netstat).
 */
import { Worker } from 'node:worker_threads';
import { TcpdiagError, describeSystemError, systemError } from '../../errors.js';

export interface ParkedListener {
  readonly address: string;
  readonly port: number;
  readonly family: string;
  /** The listening fd (process-wide), for setsockopt from this thread. */
  readonly fd: number | null;
  close(): Promise<void>;
}

// Plain JS so it runs with `eval: true` without a build step of its own.
const WORKER_SOURCE = `
const net = require('node:net');
const { parentPort, workerData } = require('node:worker_threads');
const server = net.createServer(() => {});
server.on('error', (error) => parentPort.postMessage({ error: { code: error.code, message: error.message } }));
server.listen({ host: workerData.host, port: workerData.port, backlog: workerData.backlog, ipv6Only: false }, () => {
  const a = server.address();
  const fd = server._handle && typeof server._handle.fd === 'number' ? server._handle.fd : null;
  parentPort.postMessage({ address: a.address, port: a.port, family: a.family, fd });
  // Park this thread's event loop: nothing here ever calls accept() again.
  const flag = new Int32Array(workerData.flag);
  Atomics.wait(flag, 0, 0);
  server.close();
});
`;

export function listenWithoutAccepting(host: string, port: number, backlog: number): Promise<ParkedListener> {
  const flagBuffer = new SharedArrayBuffer(4);
  const flag = new Int32Array(flagBuffer);
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { host, port, backlog, flag: flagBuffer } });
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (message: { error?: { code?: string; message: string }; address: string; port: number; family: string; fd: number | null }) => {
      if (message.error) {
        void worker.terminate();
        const error = systemError(message.error.code ?? 'UNKNOWN', message.error.message);
        reject(new TcpdiagError('TCPDIAG_LISTEN_FAILED', `cannot listen on ${host}:${port}: ${describeSystemError(error)}`, {
          hint: 'pick another port (0 lets the kernel choose) or stop the process that holds it',
        }));
        return;
      }
      resolve({
        address: message.address,
        port: message.port,
        family: message.family,
        fd: message.fd,
        close: async () => {
          Atomics.store(flag, 0, 1);
          Atomics.notify(flag, 0);
          await worker.terminate();
        },
      });
    });
  });
}
