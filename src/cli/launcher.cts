#!/usr/bin/env node
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
