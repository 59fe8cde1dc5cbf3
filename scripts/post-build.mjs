// After tsc: make the executables executable so `npx tcpdiag` and ./dist/src/cli/main.js run.
import { chmodSync } from 'node:fs';
for (const file of ['../dist/src/cli/launcher.cjs', '../dist/src/cli/main.js']) chmodSync(new URL(file, import.meta.url), 0o755);
