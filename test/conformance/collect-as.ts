/**
 * Helper of source.case.ts, run in a child process (as an unprivileged user): one collect of
 * one source from the registry, printed as `{ count, issues }`.
 * Usage: node collect-as.js BACKEND sockets|listeners|counters|processes
 */
import { counterSource, listenerSource, processSource, socketSource } from '../../src/sources/index.js';
import type { SocketBackend } from '../../src/sources/index.js';

const [backend, kind] = process.argv.slice(2) as [SocketBackend, string];
const signal = new AbortController().signal;
const choice = { backend };
let answer: { count: number; issues: readonly unknown[] };
if (kind === 'sockets') {
  const s = await socketSource(choice).collect(signal, {});
  answer = { count: s.data.length, issues: s.issues };
} else if (kind === 'listeners') {
  const s = await listenerSource(choice).collect(signal, {});
  answer = { count: s.data.length, issues: s.issues };
} else if (kind === 'counters') {
  const s = await counterSource(choice).collect(signal);
  answer = { count: Object.keys(s.data.counters).length, issues: s.issues };
} else {
  // Every process: most are another user's (root's) when this runs as nobody.
  const pids = (await import('node:fs')).readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number);
  const s = await processSource().collect(signal, { pids });
  answer = { count: s.data.length, issues: s.issues };
}
process.stdout.write(JSON.stringify(answer));
