/**
 * What the two kernel TCP event backends share in the conformance suite: a loopback server
 * whose connections are the stimulus, and the check that every one of them was seen.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import type { RawTcpEvent } from '../../src/model/kernel-event.js';
import { tcpStateToKernel } from '../../src/model/tcp-state.js';
import type { TracepointRequest } from '../../src/sources/source.js';

export const CONNECTIONS = 3;

export interface Stimulus {
  readonly port: number;
  readonly tracepoints: readonly TracepointRequest[];
  connect(): Promise<void>;
  expect(events: readonly RawTcpEvent[]): void;
  close(): Promise<void>;
}

export async function loopbackStimulus(): Promise<Stimulus> {
  const server = net.createServer((c) => {
    c.on('error', () => undefined);
    c.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const established = tcpStateToKernel('ESTABLISHED');
  return {
    port,
    tracepoints: [{ name: 'inet_sock_set_state', filter: `sport == ${port} || dport == ${port}` }],
    async connect() {
      for (let i = 0; i < CONNECTIONS; i++) {
        await new Promise<void>((resolve, reject) => {
          const c = net.connect(port, '127.0.0.1');
          c.on('data', () => undefined);
          c.on('end', () => c.end());
          c.on('close', () => resolve());
          c.on('error', reject);
        });
      }
    },
    expect(events) {
      // Each connection reaches ESTABLISHED on both sides: the client's (dport) and the server's (sport).
      const client = events.filter((e) => e.kind === 'state' && e.newState === established && e.remotePort === port).length;
      const served = events.filter((e) => e.kind === 'state' && e.newState === established && e.localPort === port).length;
      assert.ok(client >= CONNECTIONS && served >= CONNECTIONS, `ESTABLISHED: ${client} client, ${served} server sides of ${CONNECTIONS}`);
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
