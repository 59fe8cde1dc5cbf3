// The dashboard: type-check web/ (Vite only strips types), bundle it with Vite into
// dist/dashboard (what the agent serves at /), and hold the bundle to its budget: under 1 MB
// gzipped in total, everything local (no http: or https: URL the page would load).
import { build } from 'vite';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'web/tsconfig.json')], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
const outDir = join(root, 'dist/dashboard');
await build({
  root: join(root, 'web'),
  base: '/',
  logLevel: 'warn',
  build: { outDir, emptyOutDir: true, sourcemap: false, target: 'chrome120', assetsInlineLimit: 0 },
});

const BUDGET = 1024 * 1024;
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else files.push(p);
  }
};
walk(outDir);
let gz = 0;
for (const f of files) {
  const bytes = readFileSync(f);
  gz += gzipSync(bytes, { level: 9 }).length;
  if (/\.(js|css|html)$/.test(f) && /\b(src|href)=["']?https?:\/\/|import\s*\(?["']https?:\/\//.test(bytes.toString('utf8'))) {
    console.error(`build-web: ${f} loads something from the internet`);
    process.exit(1);
  }
}
if (gz > BUDGET) {
  console.error(`build-web: the dashboard is ${gz} bytes gzipped, over its budget of ${BUDGET}`);
  process.exit(1);
}
console.log(`build-web: dist/dashboard, ${files.length} files, ${(gz / 1024).toFixed(1)} KiB gzipped (budget 1024 KiB)`);
