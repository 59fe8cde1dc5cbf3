// The import checker behind `npm run lint`: the layer table of scripts/layers.cjs as rules.
// It follows static imports, import(), require() and type-only imports (tsPreCompilationDeps),
// so lazily imported command code is held to the same table as the rest.
'use strict';
const { LAYERS } = require('./scripts/layers.cjs');

const byName = new Map(LAYERS.map((layer) => [layer.name, layer]));
const anyOf = (paths) => paths.map((p) => `(${p})`).join('|');

const layerRules = LAYERS.map((layer) => {
  const allowed = new Set([layer.name, ...layer.may]);
  const forbidden = LAYERS.filter((other) => !allowed.has(other.name));
  return {
    name: `layer-${layer.name}`,
    severity: 'error',
    comment: `${layer.name} (${layer.what}) may import only: ${[...allowed].join(', ')}`,
    from: { path: layer.path, pathNot: '\\.test\\.ts$' },
    to: { path: anyOf(forbidden.map((f) => f.path)) },
  };
});

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'backend-imports-another-backend',
      severity: 'error',
      comment: 'A backend never imports another backend: compose them in the registry (src/sources/*.ts).',
      from: { path: '^src/sources/([^/]+)/', pathNot: '\\.test\\.ts$' },
      to: { path: '^src/sources/[^/]+/', pathNot: '^src/sources/$1/' },
    },
    {
      name: 'platform-neutral-code-imports-node',
      severity: 'error',
      comment: `${byName.get('model').path} and ${byName.get('web').path} run in a browser too: no node: modules.`,
      from: { path: anyOf([byName.get('model').path, byName.get('web').path, byName.get('errors').path]), pathNot: '\\.test\\.ts$' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'product-code-imports-tests',
      severity: 'error',
      comment: 'Code under src/ never imports test/ or bench/ helpers.',
      from: { path: '^src/', pathNot: '\\.test\\.ts$' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'not-in-a-layer',
      severity: 'error',
      comment: 'Every module under src/ belongs to a layer of scripts/layers.cjs: add it to the table, or move it.',
      from: { path: '^src/', pathNot: [...LAYERS.map((l) => l.path), '\\.test\\.ts$'] },
      to: {},
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to nothing.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    detectProcessBuiltinModuleCalls: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.cts', '.js', '.cjs', '.d.ts'],
    },
  },
};
