/**
 * The import checker holds the layer table (scripts/layers.cjs): it passes on the real tree, and
 * fails on a tree with one injected back-edge of each kind — a static import, an import(), a
 * type-only import, a require() — and on a backend reaching another backend, model/ reaching
 * node:, and product code reaching test helpers. Each injected tree is a copy of the layout in a
 * temporary folder, so the repository is never touched. DEVELOPERS.md shows the same table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from './helpers/cli.js';

const DEPCRUISE = join(REPO_ROOT, 'node_modules', '.bin', 'depcruise');
const CONFIG = join(REPO_ROOT, '.dependency-cruiser.cjs');

interface Violation {
  readonly rule: { readonly name: string };
  readonly from: string;
  readonly to: string;
}

function cruise(cwd: string, paths: readonly string[]): Violation[] {
  const result = spawnSync(DEPCRUISE, [...paths, '--config', CONFIG, '--output-type', 'json'], { cwd, encoding: 'utf8', timeout: 120_000, maxBuffer: 256 * 1024 * 1024 });
  assert.ok(result.stdout.length > 0, `depcruise printed nothing: ${result.stderr}`);
  const report = JSON.parse(result.stdout) as { summary: { violations: Violation[] } };
  return report.summary.violations;
}

/** A minimal copy of the layout with the given files (path -> source) and a tsconfig like ours. */
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tcpdiag-layers-'));
  writeFileSync(join(dir, 'tsconfig.json'), readFileSync(join(REPO_ROOT, 'tsconfig.json')));
  const base: Record<string, string> = {
    'src/errors.ts': 'export class TcpdiagError extends Error {}\n',
    'src/model/socket.ts': "import { TcpdiagError } from '../errors.js';\nexport interface Sock { readonly port: number }\nexport const E = TcpdiagError;\n",
    'src/sources/source.ts': "import type { Sock } from '../model/socket.js';\nexport interface Source { collect(): Sock[] }\n",
    'src/sources/procfs/table.ts': "import type { Source } from '../source.js';\nexport const table: Source = { collect: () => [] };\nexport interface Row { readonly n: number }\n",
    'src/sources/tracefs/pipe.ts': 'export const pipe = 1;\n',
    'src/sources/index.ts': "export { table } from './procfs/table.js';\n",
    'src/analysis/rates.ts': "import type { Sock } from '../model/socket.js';\nexport const rate = (s: Sock): number => s.port;\n",
    'src/sessions/collector.ts': "import { table } from '../sources/index.js';\nimport { rate } from '../analysis/rates.js';\nexport const run = (): number => table.collect().map(rate).length;\n",
    'src/cli/commands/conns.ts': "export async function conns(): Promise<number> {\n  const { run } = await import('../../sessions/collector.js');\n  return run();\n}\n",
    'test/helpers/craft.ts': 'export const craft = 1;\n',
  };
  for (const [path, source] of Object.entries({ ...base, ...files })) {
    mkdirSync(join(dir, dirname(path)), { recursive: true });
    writeFileSync(join(dir, path), source);
  }
  return dir;
}

function violationsOf(files: Record<string, string>): Violation[] {
  const dir = tree(files);
  try {
    return cruise(dir, ['src']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the real tree has no layering violation', () => {
  assert.deepEqual(cruise(REPO_ROOT, ['src']).map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`), []);
});

test('a clean copy of the layout passes, so the failures below come from the injected edge alone', () => {
  assert.deepEqual(violationsOf({}), []);
});

const BACK_EDGES: ReadonlyArray<{ kind: string; files: Record<string, string>; rule: string; from: string }> = [
  {
    kind: 'a static import from analysis into a backend',
    files: { 'src/analysis/rates.ts': "import { table } from '../sources/procfs/table.js';\nexport const rate = (): number => table.collect().length;\n" },
    rule: 'layer-analysis',
    from: 'src/analysis/rates.ts',
  },
  {
    kind: 'an import() from a command into a backend',
    files: { 'src/cli/commands/conns.ts': "export async function conns(): Promise<number> {\n  const { pipe } = await import('../../sources/tracefs/pipe.js');\n  return pipe;\n}\n" },
    rule: 'layer-cli',
    from: 'src/cli/commands/conns.ts',
  },
  {
    kind: 'a type-only import from model into a backend',
    files: { 'src/model/socket.ts': "import type { Row } from '../sources/procfs/table.js';\nexport interface Sock { readonly port: number; readonly row?: Row }\n" },
    rule: 'layer-model',
    from: 'src/model/socket.ts',
  },
  {
    kind: 'a require() from model into sessions',
    files: { 'src/model/legacy.cts': "const collector = require('../sessions/collector.js');\nexport = collector;\n" },
    rule: 'layer-model',
    from: 'src/model/legacy.cts',
  },
  {
    kind: 'a backend importing another backend',
    files: { 'src/sources/tracefs/pipe.ts': "import { table } from '../procfs/table.js';\nexport const pipe = table.collect().length;\n" },
    rule: 'backend-imports-another-backend',
    from: 'src/sources/tracefs/pipe.ts',
  },
  {
    kind: 'a backend importing the registry',
    files: { 'src/sources/tracefs/pipe.ts': "import { table } from '../index.js';\nexport const pipe = table.collect().length;\n" },
    rule: 'layer-backend',
    from: 'src/sources/tracefs/pipe.ts',
  },
  {
    kind: 'model importing a node: module',
    files: { 'src/model/socket.ts': "import { isIP } from 'node:net';\nexport interface Sock { readonly port: number }\nexport const v = isIP('::1');\n" },
    rule: 'platform-neutral-code-imports-node',
    from: 'src/model/socket.ts',
  },
  {
    kind: 'product code importing a test helper',
    files: { 'src/analysis/rates.ts': "import { craft } from '../../test/helpers/craft.js';\nexport const rate = (): number => craft;\n" },
    rule: 'product-code-imports-tests',
    from: 'src/analysis/rates.ts',
  },
  {
    kind: 'a module outside every layer',
    files: { 'src/misc/helper.ts': "import { rate } from '../analysis/rates.js';\nexport const h = rate;\n" },
    rule: 'not-in-a-layer',
    from: 'src/misc/helper.ts',
  },
];

for (const edge of BACK_EDGES) {
  test(`the checker fails on ${edge.kind}`, () => {
    const found = violationsOf(edge.files);
    assert.ok(
      found.some((v) => v.rule.name === edge.rule && v.from === edge.from),
      `expected ${edge.rule} from ${edge.from}, got: ${JSON.stringify(found.map((v) => [v.rule.name, v.from, v.to]))}`,
    );
  });
}

test('DEVELOPERS.md shows the layer table exactly as scripts/layers.cjs defines it', () => {
  const require = createRequire(import.meta.url);
  const { layersMarkdown } = require(join(REPO_ROOT, 'scripts', 'layers.cjs')) as { layersMarkdown: () => string };
  const developers = readFileSync(join(REPO_ROOT, 'DEVELOPERS.md'), 'utf8');
  assert.ok(developers.includes(layersMarkdown()), 'DEVELOPERS.md lacks the current table: paste the output of `node scripts/layers.cjs`');
});
