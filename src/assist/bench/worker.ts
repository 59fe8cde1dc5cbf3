/**
 * Worker-thread entry: one engine on its own event loop (--threads N). The parent passes the
 * engine config in workerData (the control block is a SharedArrayBuffer, so it is shared, not
 * copied) and receives the engine's result as one message.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CTL_GO, CTL_READY, runEngine } from './engine.js';
import type { EngineConfig } from './engine.js';

const port = parentPort;
if (port !== null) {
  const config = (workerData as { config: EngineConfig }).config;
  // Start together: a worker that starts first would otherwise take a whole --requests budget.
  Atomics.add(config.control, CTL_READY, 1);
  Atomics.wait(config.control, CTL_GO, 0, 10_000);
  runEngine(config).then(
    (result) => port.postMessage({ ok: true, result }),
    (error: unknown) => port.postMessage({ ok: false, message: error instanceof Error ? error.message : String(error) }),
  );
}
