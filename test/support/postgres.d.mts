// Types of test/support/postgres.mjs (plain ESM so that test/run-all.mjs can use it without a loader).
export interface ThrowawayPostgres {
  /** Admin URL (user postgres, database postgres) on 127.0.0.1. */
  url: string;
  /** Stops the server (fast shutdown: sessions are ended), keeping its data and port. */
  halt(): Promise<void>;
  /** Starts a halted server again on the same data and port. */
  resume(): Promise<void>;
  /** Stops the server and removes its files. */
  stop(): Promise<void>;
}

export function findPgBin(): string | undefined;
export function startThrowawayPostgres(): Promise<ThrowawayPostgres>;
