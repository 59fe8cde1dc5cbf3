/** The source contract against the bpftrace backend (trace --detail). */
import { after } from 'node:test';
import { backendStatus } from '../../src/sources/index.js';
import { openTcpEvents } from '../../src/sources/events.js';
import { tracefsRoot } from '../../src/platform/capabilities.js';
import { Scope } from '../../src/platform/scope.js';
import { eventConformance } from './source.case.js';
import { loopbackStimulus } from './tcp-events.js';

const status = backendStatus().find((b) => b.backend === 'bpftrace')!;
const stimulus = await loopbackStimulus();
const scope = new Scope('conformance bpftrace');
after(async () => {
  await scope.close();
  await stimulus.close();
});

eventConformance({
  backend: 'bpftrace',
  unavailable: status.available ? undefined : `bpftrace unavailable here: ${status.issues.map((i) => i.message).join('; ')}`,
  unsupported: {
    perCpuLoss: "bpftrace reports only its own 'Lost N events' lines, no per-CPU buffer counters",
  },
  open: (signal) => openTcpEvents({ root: tracefsRoot() ?? '/sys/kernel/tracing', bufferKb: 4096, scope, tracepoints: stimulus.tracepoints, detail: true, signal }),
  stimulate: () => stimulus.connect(),
  expect: (events) => stimulus.expect(events),
  timeNs: (e) => e.tsNs,
});
