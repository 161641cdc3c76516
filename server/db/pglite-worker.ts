// PGlite in a worker thread of its own, serving its one session on a private unix socket:
// the database's WebAssembly runs beside the AMS's event loop instead of on it, so a long
// statement (a flush of thousands of heartbeats, a rollup chunk) no longer holds back HTTP
// requests and broker messages, and the database starts while the AMS does other things.
// The worker's source is plain JavaScript (an eval worker), so that it runs the same from
// the TypeScript sources, the tests and the built bundle.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

export type PgliteOrigin = 'template' | 'created' | 'opened';

const SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
let db;
let server;
(async () => {
  const [{ PGlite }, { PGLiteSocketServer }, { pg_trgm }] = await Promise.all(workerData.modules.map((u) => import(u)));
  const { dir, socket, tarball } = workerData;
  let origin = workerData.origin;
  try {
    db = await PGlite.create(dir, { extensions: { pg_trgm }, ...(tarball ? { loadDataDir: new Blob([tarball]) } : {}) });
  } catch (err) {
    if (!tarball) throw err;
    // A template that does not load: start over with an empty directory, as without one.
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    db = await PGlite.create(dir, { extensions: { pg_trgm } });
    origin = 'created';
  }
  server = new PGLiteSocketServer({ db, path: socket, maxConnections: 1 });
  await server.start();
  parentPort.postMessage({ type: 'ready', origin });
})().catch((err) => parentPort.postMessage({ type: 'error', message: String((err && err.stack) || err) }));
parentPort.on('message', (m) => {
  if (m !== 'close') return;
  (async () => {
    if (server) await server.stop();
    if (db) await db.close();
  })().then(
    () => parentPort.postMessage({ type: 'closed' }),
    (err) => parentPort.postMessage({ type: 'closed', error: String(err) }),
  );
});
`;

export interface PgliteWorker {
  origin: PgliteOrigin;
  /** Stops the socket server and closes the database, then ends the thread. */
  close(): Promise<void>;
}

const CLOSE_TIMEOUT_MS = 15_000;

/**
 * Starts PGlite on `dir` in a worker thread serving `socket`; resolves once it accepts
 * connections. `tarball` is a template to load (the directory is then new), `origin` what the
 * caller expects the start to be.
 */
export async function startPgliteWorker(opts: {
  dir: string;
  socket: string;
  tarball?: Uint8Array;
  origin: PgliteOrigin;
  /** Told when the thread ends without being closed (the database is gone until the AMS restarts). */
  onExit?: (detail: string) => void;
}): Promise<PgliteWorker> {
  const resolve = createRequire(import.meta.url).resolve;
  const modules = ['@electric-sql/pglite', '@electric-sql/pglite-socket', '@electric-sql/pglite/contrib/pg_trgm'].map((m) => pathToFileURL(resolve(m)).href);
  const worker = new Worker(SOURCE, { eval: true, workerData: { modules, dir: opts.dir, socket: opts.socket, tarball: opts.tarball, origin: opts.origin } });
  let closing = false;
  const ready = await new Promise<{ origin: PgliteOrigin }>((resolveReady, reject) => {
    const onMessage = (m: { type: string; origin?: PgliteOrigin; message?: string }) => {
      if (m.type === 'ready') resolveReady({ origin: m.origin ?? opts.origin });
      else if (m.type === 'error') reject(new Error(`PGlite could not start: ${m.message}`));
    };
    worker.on('message', onMessage);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the PGlite thread ended before it was ready (exit code ${code})`)));
  }).catch(async (err) => {
    await worker.terminate();
    throw err;
  });
  let exited = false;
  worker.on('exit', (code) => {
    exited = true;
    if (!closing) opts.onExit?.(`the PGlite thread ended (exit code ${code})`);
  });
  worker.on('error', (err) => opts.onExit?.(`the PGlite thread failed: ${err.message}`));
  return {
    origin: ready.origin,
    async close() {
      closing = true;
      // A thread that ended already (it failed) emits no second exit.
      if (exited) return;
      const closed = new Promise<void>((done) => {
        worker.on('message', (m: { type: string }) => m.type === 'closed' && done());
        worker.once('exit', () => done());
      });
      worker.postMessage('close');
      const timer = setTimeout(() => void worker.terminate(), CLOSE_TIMEOUT_MS);
      await closed;
      clearTimeout(timer);
      await worker.terminate();
    },
  };
}
