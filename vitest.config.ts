import { defineConfig } from 'vitest/config';

// Projects: `unit` (pure logic), `server` (the real AMS on PGlite or PostgreSQL, chosen by
// OPMAS_TEST_DB) and `desktop` (the Electron main-process modules in Node, the packaged app;
// run inside test/support/with-keyring.sh for a real OS keychain). test/run-all.mjs runs the
// server project once per database.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'server',
          // The outage tests stop a real PostgreSQL, which only the PostgreSQL run has.
          include: ['test/server/**/*.test.ts', ...(process.env.OPMAS_TEST_DB === 'postgres' ? ['test/server-pg/**/*.test.ts'] : [])],
          globalSetup: ['test/setup/global-db.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          pool: 'forks',
        },
      },
      {
        test: {
          name: 'desktop',
          include: ['test/desktop/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
          pool: 'forks',
        },
      },
    ],
  },
});
