import { defineConfig } from 'vitest/config';

// Projects: `unit` (pure logic), `broker` (real nats-server, no database), `server` (the real
// AMS on PGlite or PostgreSQL, chosen by OPMAS_TEST_DB) and `desktop` (the Electron main-process
// modules in Node against the real AMS, the packaged app; run inside
// test/support/with-keyring.sh for a real OS keychain). test/run-all.mjs runs the server
// project once per database. `e2e`: the built console in Chromium against a real AMS (PGlite)
// with real agent processes, one suite file at a time (each starts a browser and an AMS; the
// machines have two cores).
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
          // The broker layer, the agent SDK and the sample agents against a real nats-server per
          // suite; no database.
          name: 'broker',
          include: ['test/broker/**/*.test.ts'],
          globalSetup: ['test/setup/agent-sdk.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          pool: 'forks',
        },
      },
      {
        test: {
          name: 'server',
          // The outage tests stop a real PostgreSQL, which only the PostgreSQL run has; the
          // embedded database's own tests (its thread, its shipped template) run in the PGlite pass.
          include: ['test/server/**/*.test.ts', ...(process.env.OPMAS_TEST_DB === 'postgres' ? ['test/server-pg/**/*.test.ts'] : ['test/server-pglite/**/*.test.ts'])],
          globalSetup: ['test/setup/global-db.ts', 'test/setup/agent-sdk.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          pool: 'forks',
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/setup/global-db.ts', 'test/setup/agent-sdk.ts', 'test/e2e/setup/build-console.ts'],
          env: { OPMAS_TEST_DB: 'pglite' },
          testTimeout: 120_000,
          hookTimeout: 180_000,
          pool: 'forks',
          fileParallelism: false,
        },
      },
      {
        test: {
          // A production-shaped cluster on loopback (test/cluster/harness.ts): PostgreSQL, 3 NATS
          // nodes, API replicas and a supervisor per host as separate processes of the built
          // server (out/main/server.js, built once by the e2e build setup), killed and restarted
          // by the scenarios. One file at a time: each starts a whole cluster on two cores.
          name: 'cluster',
          include: ['test/cluster/**/*.test.ts'],
          globalSetup: ['test/setup/log-dir.ts', 'test/e2e/setup/build-console.ts'],
          testTimeout: 240_000,
          hookTimeout: 300_000,
          pool: 'forks',
          fileParallelism: false,
        },
      },
      {
        test: {
          // The newcomer's path: the committed tree installed offline into a temp folder and
          // started with the README's `npm run serve`; a sample agent runs, / serves the console.
          name: 'newcomer',
          include: ['test/newcomer/**/*.test.ts'],
          globalSetup: ['test/setup/log-dir.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          pool: 'forks',
        },
      },
      {
        test: {
          // The session, connection and bridge tests run against the real AMS in-process
          // (test/helpers/ams.ts), on a copy of the migrated template database.
          name: 'desktop',
          include: ['test/desktop/**/*.test.ts'],
          globalSetup: ['test/setup/global-db.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
          pool: 'forks',
        },
      },
    ],
  },
});
