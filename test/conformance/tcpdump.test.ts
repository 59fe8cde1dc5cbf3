/** The source contract against live capture through tcpdump. */
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { backendStatus } from '../../src/sources/index.js';
import { openLiveCapture } from '../../src/sources/events.js';
import { Scope } from '../../src/platform/scope.js';
import { eventConformance } from './source.case.js';
import { CONNECTIONS, loopbackStimulus } from './tcp-events.js';

const status = backendStatus().find((b) => b.backend === 'tcpdump')!;
const stimulus = await loopbackStimulus();
const scope = new Scope('conformance tcpdump');
after(async () => {
  await scope.close();
  await stimulus.close();
});

/** TCP flags of a loopback frame (Ethernet, IPv4 without options): byte 14 + 20 + 13. */
const SYN_ONLY = 0x02;

eventConformance({
  backend: 'tcpdump',
  unavailable: status.available ? undefined : `tcpdump unavailable here: ${status.issues.map((i) => i.message).join('; ')}`,
  unsupported: {
    perCpuLoss: 'tcpdump reports one drop count for its packet ring (PACKET_STATISTICS), not one per CPU',
  },
  open: (signal) => openLiveCapture({ interface: 'lo', direction: 'both', snaplen: 128, filter: ['tcp', 'port', String(stimulus.port)], signal }, scope),
  stimulate: () => stimulus.connect(),
  expect: (packets) => {
    const syns = packets.filter((p) => p.capLen >= 48 && p.buf[p.offset + 47] === SYN_ONLY).length;
    assert.ok(syns >= CONNECTIONS, `${syns} SYNs of ${CONNECTIONS} connections among ${packets.length} packets`);
  },
  timeNs: (p) => p.tsSec * 1e9 + p.tsNsec,
});
