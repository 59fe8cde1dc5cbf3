#!/usr/bin/env -S node --min-semi-space-size=16 --no-memory-reducer
/**
 * The V8 flags in the line above, both measured with the idle agent and 1,000 connections
 * (bench/agent.ts; bench/README.md has the runs):
 * - `--min-semi-space-size=16`: V8 starts the young generation at 1 MiB and shrinks it back
 *   there whenever the process idles, so each burst of the agent's work (a socket table read,
 *   a diagnosis) ran as ~10 scavenges in a row, each waking V8's worker threads: 1.02-1.15% of
 *   a core with the default, 0.90-0.94% with 8 or 16 MiB (in a network namespace).
 * - `--no-memory-reducer`: after each of those bursts V8's memory reducer, seeing a process
 *   that allocates little, ran two or three full mark-compacts in a row to give ~13 MB back
 *   (--trace-gc: 7 of the 10 mark-compacts in 180 s idle), and their concurrent marking kept
 *   V8's four worker threads busy: 0.90-0.97% of a core over 180 s with it, 0.80% without
 *   (worker threads 70 -> 50 ticks). The heap is still collected when it grows (a mark-compact
 *   every ~45 s here); RSS stays within the 150 MB target.
 * Every way tcpdiag is installed runs this file as an executable (/usr/local/bin, the Debian
 * package's /usr/bin, the unit).
 */
/**
 * The `tcpdiag` executable. The snapshot commands (stats, conns, listeners) are run from
 * scripts, cron jobs and watch loops, so their start-up time is part of the product
 * (`tcpdiag stats` must answer within 100 ms). Node's ES module loader alone costs about 40 ms
 * before the first line of tcpdiag runs (measured on Node 20 here: the same code bundled as one
 * CommonJS file starts in 45 ms instead of 90). So these commands run from a CommonJS bundle
 * each (dist/fast/NAME.cjs, built by scripts/bundle.mjs with esbuild); everything else, and
 * any build without the bundles, runs the ES modules through main.js. This file is CommonJS
 * for the same reason.
 */
import fs = require('node:fs');
import path = require('node:path');
import argv = require('./argv.cjs');

/** Commands with a start-up bundle; scripts/bundle.mjs builds one per name. */
const BUNDLED = new Set(['stats', 'conns', 'listeners']);

const name = argv.commandNameIn(process.argv.slice(2));
const bundle = name !== undefined && BUNDLED.has(name) ? path.join(__dirname, '..', '..', 'fast', `${name}.cjs`) : null;
if (bundle !== null && fs.existsSync(bundle)) {
  require(bundle);
} else {
  import('./main.js').catch((error: unknown) => {
    process.stderr.write(`tcpdiag: cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 70;
  });
}
