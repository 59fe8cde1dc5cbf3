/**
 * model/ is platform-neutral: esbuild bundles every module of it for the browser (platform
 * 'browser', no Node built-ins available) and the bundle runs in a fresh V8 context that has
 * no `process`, `Buffer` or `require`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { build } from 'esbuild';
import { REPO_ROOT } from './helpers/cli.js';

test('every model/ module bundles for the browser and runs without Node globals', async () => {
  const dir = join(REPO_ROOT, 'src', 'model');
  const modules = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).sort();
  assert.ok(modules.length >= 8, `model/ has ${modules.length} modules`);
  const entry = modules.map((f, i) => `export * as m${i} from './${f.replace(/\.ts$/, '.js')}';`).join('\n');
  const result = await build({
    stdin: { contents: entry, resolveDir: dir, loader: 'ts', sourcefile: 'model-entry.ts' },
    bundle: true,
    platform: 'browser',
    format: 'iife',
    globalName: 'model',
    write: false,
    logLevel: 'silent',
    // The real browser target of the dashboard; Node built-ins would fail to resolve.
    target: ['chrome120'],
  });
  assert.deepEqual(result.errors, []);
  const code = result.outputFiles[0]!.text;
  const context: Record<string, unknown> = {};
  runInNewContext(`${code}\nthis.model = model;`, context);
  const model = context.model as Record<string, Record<string, unknown>>;
  const exported = Object.values(model).flatMap((m) => Object.keys(m));
  for (const name of ['parseCidr', 'decodeTcpInfo', 'tcpStateFromKernel', 'isMonotonicCounter', 'bySeverity']) {
    assert.ok(exported.includes(name), `the bundle exports ${name}`);
  }
  const address = Object.values(model).find((m) => 'parseCidr' in m)! as { ipFamily: (t: string) => number };
  assert.equal(address.ipFamily('2001:db8::1'), 6);
});
