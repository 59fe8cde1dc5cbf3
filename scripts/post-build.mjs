// After tsc: make the CLI entry executable so `npx tcpdiag` and ./dist/src/cli/main.js run.
import { chmodSync } from 'node:fs';
chmodSync(new URL('../dist/src/cli/main.js', import.meta.url), 0o755);
