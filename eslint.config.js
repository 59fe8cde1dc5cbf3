// Lint rules that carry the style guide (../shared/docs/style.md): no floating promises,
// type-only imports, no `export *`, no console outside cli/ (and tests/benches), no Node
// globals in model/. The layer table is checked by dependency-cruiser (`npm run lint` runs both).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'native/**', 'web/dist/**', 'scripts/**', 'eslint.config.js', '.dependency-cruiser.cjs'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: 'ExportAllDeclaration', message: 'Name what a module re-exports; no `export *`.' }],
      'no-console': 'error',
    },
  },
  {
    files: ['src/cli/**', 'test/**', 'bench/**', '**/*.test.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    // model/ is bundled for the browser (test/model-browser.test.ts): no Node globals either.
    // Imports between layers are checked by dependency-cruiser (.dependency-cruiser.cjs).
    files: ['src/model/**', 'src/errors.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-globals': ['error',
        { name: 'Buffer', message: 'model/ is platform-neutral: take Uint8Array.' },
        { name: 'process', message: 'model/ is platform-neutral: take what you need as a parameter.' },
        { name: 'require', message: 'model/ is platform-neutral.' }],
    },
  },
  {
    // CommonJS on purpose (the launcher must start without the ES module loader): require is how it imports.
    files: ['**/*.cts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.test.ts', 'test/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
);
