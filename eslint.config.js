// Lint: typescript-eslint's recommended rules plus the runtime boundaries (STYLE.md #1):
// server/ never imports electron; src-renderer/ and src-preload/console-api.ts (types the renderer imports)
// never import electron or Node built-ins.
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

const nodeBuiltins = builtinModules.filter((m) => !m.startsWith('node:'));

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'release/**', 'node_modules/**', 'resources/**/node_modules/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['server/**/*.ts', 'migrations/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'electron', message: 'server/ runs without Electron (standalone and forked by host mode).' }] }],
    },
  },
  {
    files: ['src-renderer/**/*.{ts,tsx}', 'src-preload/console-api.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'electron', message: 'The renderer is sandboxed and also runs in a browser; use window.opmas from the preload.' },
            ...nodeBuiltins.map((name) => ({ name, message: 'The renderer runs sandboxed and in a browser: no Node built-ins.' })),
          ],
          patterns: [{ group: ['node:*'], message: 'The renderer runs sandboxed and in a browser: no Node built-ins.' }],
        },
      ],
    },
  },
);
