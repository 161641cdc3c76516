// Lint: typescript-eslint's recommended rules plus the runtime boundaries (STYLE.md #1) and the
// server's layers (as VS Code's code-layering): server/ never imports electron; only server/db/
// imports knex (types aside); server/api/ imports neither the supervisor nor the database layer
// (routes call services); server/supervisor/ imports neither the API, the database layer, the
// services nor the control plane (a host holds no database credentials: it talks NATS only);
// src-renderer/ and src-preload/console-api.ts (types the renderer imports) never import electron
// or Node built-ins.
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

const nodeBuiltins = builtinModules.filter((m) => !m.startsWith('node:'));

const ELECTRON = { name: 'electron', message: 'server/ runs without Electron (standalone and forked by host mode).' };
const KNEX = { name: 'knex', allowTypeImports: true, message: 'Only server/db/ uses knex: put the query in a repo there.' };
const layer = (group, message) => ({ group, message });

/** The rule for each server folder: what every server file may not import, and what the folder may not import besides. */
function serverLayers() {
  const rule = (paths, patterns = []) => ({ 'no-restricted-imports': ['error', { paths, patterns }] });
  return [
    { files: ['server/**/*.ts', 'migrations/**/*.ts'], rules: rule([ELECTRON, KNEX]) },
    { files: ['server/db/**/*.ts', 'migrations/**/*.ts'], rules: rule([ELECTRON]) },
    {
      files: ['server/api/**/*.ts'],
      rules: rule([ELECTRON, KNEX], [
        layer(['**/supervisor/*', '**/supervisor/**'], 'Routes call services; they never reach the supervisor (it runs on the hosts, reached over NATS).'),
        layer(['**/db/*', '**/db/**'], 'Routes call services; only services and repos touch the database.'),
      ]),
    },
    {
      files: ['server/supervisor/**/*.ts'],
      rules: rule([ELECTRON, KNEX], [
        layer(['**/api/*', '**/api/**', '**/services/*', '**/control/*'], 'The supervisor runs on a host and reaches the control plane over NATS only.'),
        layer(['**/db/*', '**/db/**'], 'A supervisor host holds no database credentials: observations go over NATS.'),
      ]),
    },
  ];
}

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'release/**', 'node_modules/**', 'resources/**/node_modules/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  // Flat config does not merge one rule's options across blocks: each block states all of its own.
  ...serverLayers(),
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
