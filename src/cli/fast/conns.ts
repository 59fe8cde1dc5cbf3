/**
 * Entry of the start-up bundle for `tcpdiag conns` (scripts/bundle.mjs -> dist/fast/conns.cjs):
 * the same CLI with only this command, statically imported so the bundle holds all of it.
 */
import { registerConns } from '../commands/conns.js';
import { runMain } from '../entry.js';

void runMain(process.argv.slice(2), [{ name: 'conns', load: () => Promise.resolve(registerConns) }]);
