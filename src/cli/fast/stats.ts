/**
 * Entry of the start-up bundle for `tcpdiag stats` (scripts/bundle.mjs -> dist/fast/stats.cjs):
 * the same CLI with only this command, statically imported so the bundle holds all of it.
 */
import { registerStats } from '../commands/stats.js';
import { runMain } from '../entry.js';

void runMain(process.argv.slice(2), [{ name: 'stats', load: () => Promise.resolve(registerStats) }]);
