/**
 * Entry of the start-up bundle for `tcpdiag listeners` (scripts/bundle.mjs -> dist/fast/listeners.cjs):
 * the same CLI with only this command, statically imported so the bundle holds all of it.
 */
import { registerListeners } from '../commands/listeners.js';
import { runMain } from '../entry.js';

void runMain(process.argv.slice(2), [{ name: 'listeners', load: () => Promise.resolve(registerListeners) }]);
