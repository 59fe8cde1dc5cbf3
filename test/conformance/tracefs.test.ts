/** The source contract against the tracefs backend (a private instance, trace_pipe_raw). */
import { after } from 'node:test';
import { backendStatus } from '../../src/sources/index.js';
import { openTcpEvents } from '../../src/sources/events.js';
import { tracefsRoot } from '../../src/platform/capabilities.js';
import { Scope } from '../../src/platform/scope.js';
import { eventConformance } from './source.case.js';
import { loopbackStimulus } from './tcp-events.js';

const status = backendStatus().find((b) => b.backend === 'tracefs')!;
const stimulus = await loopbackStimulus();
const scope = new Scope('conformance tracefs');
after(async () => {
  await scope.close();
  await stimulus.close();
});

eventConformance({
  backend: 'tracefs',
  unavailable: status.available ? undefined : `tracefs unavailable here: ${status.issues.map((i) => `${i.message} (${i.hint ?? ''})`).join('; ')}`,
  unsupported: {
    abortWhileOpening: 'opening is a few synchronous tracefs writes: no moment to abort in, checked before it starts',
  },
  open: (signal) => openTcpEvents({ root: tracefsRoot() ?? '/sys/kernel/tracing', bufferKb: 4096, scope, tracepoints: stimulus.tracepoints, detail: false, signal }),
  stimulate: () => stimulus.connect(),
  expect: (events) => stimulus.expect(events),
  timeNs: (e) => e.tsNs,
});
