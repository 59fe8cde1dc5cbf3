// The layer table: which folders of src/ may import which. The one place it is written down:
// .dependency-cruiser.cjs turns it into rules for `npm run lint` (static imports, import(),
// require() and type-only imports alike), DEVELOPERS.md shows it (a test checks the copy), and
// test/layers.test.ts proves that an injected back-edge of each kind fails the check.
//
// Data flows one way: sources -> sessions -> analysis/diagnose/alerts -> sinks/store ->
// server/agent/cli -> web. A layer's `path` is a regular expression over paths from the
// repository root; `may` lists the layers it may import besides itself.
'use strict';

/** @type {ReadonlyArray<{ name: string; path: string; may: readonly string[]; what: string }>} */
const LAYERS = [
  { name: 'errors', path: '^src/errors\\.ts$', may: [], what: 'every coded error class (platform-neutral)' },
  { name: 'model', path: '^src/model/', may: ['errors'], what: 'platform-neutral types and pure helpers; no node: import, no Buffer (the browser bundle imports it)' },
  { name: 'platform', path: '^src/(platform|native)/', may: ['model', 'errors'], what: 'the host: capabilities, lifetimes (scopes), sleep, the native addon loader' },
  { name: 'config', path: '^src/config/', may: ['model', 'errors', 'platform'], what: 'the one configuration schema and its resolution' },
  { name: 'contract', path: '^src/sources/source\\.ts$', may: ['model', 'errors'], what: 'what every source promises: snapshot and event sources, issues, summaries' },
  { name: 'backend', path: '^src/sources/[^/]+/', may: ['contract', 'model', 'errors', 'platform'], what: 'one folder per backend (procfs, sockdiag, tracefs, ebpf, pcap); never another backend, never the registry' },
  { name: 'registry', path: '^src/sources/(?!source\\.ts$)[^/]+\\.ts$', may: ['backend', 'contract', 'model', 'errors', 'platform'], what: 'the only factory of backends: what each can do on this host' },
  { name: 'analysis', path: '^src/(analysis|privacy)/', may: ['model', 'errors'], what: 'pure transforms: filters, rates, TCP analysis of packets and events, redaction' },
  { name: 'diagnose', path: '^src/diagnose/', may: ['analysis', 'model', 'errors'], what: 'rules: facts in, findings out, no I/O' },
  { name: 'alerts', path: '^src/alerts/', may: ['diagnose', 'analysis', 'model', 'errors'], what: 'held thresholds and baselines: facts and time in, transitions out' },
  { name: 'sinks', path: '^src/sinks/', may: ['analysis', 'model', 'errors', 'platform'], what: 'renderers and writers: tables, text reports, JSON lines, packet lines, pcap files, Prometheus text' },
  { name: 'store', path: '^src/store/', may: ['model', 'errors', 'platform'], what: 'the embedded history (SQLite)' },
  { name: 'sessions', path: '^src/(sessions|assist)/', may: ['registry', 'contract', 'analysis', 'diagnose', 'alerts', 'sinks', 'store', 'config', 'model', 'errors', 'platform'], what: 'loops, timers and I/O through injected sources; the debug assistant (client, server, probe, bench, proxy, fault)' },
  { name: 'server', path: '^src/(server|agent)/', may: ['sessions', 'registry', 'contract', 'analysis', 'diagnose', 'alerts', 'sinks', 'store', 'config', 'model', 'errors', 'platform'], what: 'the agent: API, WebSocket, /metrics, exporters' },
  { name: 'cli', path: '^src/cli/', may: ['server', 'sessions', 'registry', 'contract', 'analysis', 'diagnose', 'alerts', 'sinks', 'store', 'config', 'model', 'errors', 'platform'], what: 'thin wiring: flags, output, signals and exit codes' },
  { name: 'web', path: '^web/', may: ['model'], what: 'the dashboard (browser code)' },
];

module.exports = { LAYERS };

/** The table as Markdown, as DEVELOPERS.md shows it (test/layers.test.ts checks the copy). */
function layersMarkdown() {
  const rows = LAYERS.map((l) => `| \`${l.name}\` | \`${l.path.replace(/\|/g, "\\|")}\` | ${l.may.length === 0 ? 'nothing' : l.may.map((m) => `\`${m}\``).join(', ')} | ${l.what} |`);
  return ['| layer | path (regex) | may import, besides itself | what lives there |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

module.exports.layersMarkdown = layersMarkdown;

if (require.main === module) process.stdout.write(layersMarkdown() + '\n');
