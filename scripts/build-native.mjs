// Builds the optional N-API addon (native/) with the node-gyp that ships with npm.
// A failed build is not fatal: tcpdiag falls back to `ss` and procfs, and says so.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const nativeDir = join(root, 'native');
const npmDir = dirname(dirname(process.execPath));
const candidates = [
  join(npmDir, 'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
  join(root, 'node_modules/node-gyp/bin/node-gyp.js'),
];
const gyp = candidates.find((p) => existsSync(p));
if (!gyp) {
  console.warn('tcpdiag: node-gyp not found; the native addon is not built (falling back to ss/procfs)');
  process.exit(0);
}
// node-gyp needs Node's headers; without network it cannot download them, so point it at the
// headers installed with Node itself (Debian's nodejs ships them under /usr/include/node).
const args = [gyp, 'rebuild', '--loglevel=warn'];
const installPrefix = dirname(dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(join(installPrefix, 'include/node/node_api.h'))) {
  args.push(`--nodedir=${installPrefix}`);
}
const result = spawnSync(process.execPath, args, { cwd: nativeDir, stdio: ['ignore', 'ignore', 'inherit'] });
if (result.status !== 0) {
  console.warn('tcpdiag: native addon build failed; tcpdiag will fall back to ss/procfs (install python3, make and g++ to build it)');
}
