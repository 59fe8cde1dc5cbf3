// After tsc: one CommonJS bundle per start-up-critical command (dist/fast/NAME.cjs), so that
// `tcpdiag stats` runs without Node's ES module loader (see src/cli/launcher.cts for why and
// the figures). The entries are the compiled dist/src/cli/fast/*.js; the native addon stays a
// separate file, found at run time by src/native/index.ts.
import { build } from 'esbuild';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const entries = readdirSync(`${root}dist/src/cli/fast`).filter((f) => f.endsWith('.js'));
await build({
  entryPoints: entries.map((f) => `${root}dist/src/cli/fast/${f}`),
  outdir: `${root}dist/fast`,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  logLevel: 'warning',
  // src/native/index.ts reads import.meta only where __filename is undefined (ES modules).
  logOverride: { 'empty-import-meta': 'silent' },
});
