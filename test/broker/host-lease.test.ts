// Fencing against a real nats-server with JetStream: one holder per host id (a live one refuses a
// second), a dead holder taken over with the next epoch, epochs that only grow, a lease that
// lapsed while NATS was away renewed by the same holder, and one that another took reported lost.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kvm } from '@nats-io/kv';
import { connectWithCreds, startTestBroker, waitFor, type TestBroker } from '../helpers/broker.js';
import { acquireHostLease, HostHeld, type LeaseHolder } from '../../server/supervisor/host-lease.js';
import { LEASES_BUCKET } from '../../server/broker/host-protocol.js';
import type { NatsConnection } from '@nats-io/transport-node';

let b: TestBroker;
let nc: NatsConnection;
const logger = pino({ level: 'silent' });
const dirs: string[] = [];
const dataDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-lease-'));
  dirs.push(d);
  return d;
};

beforeAll(async () => {
  b = await startTestBroker();
  const creds = await b.broker.issuer.issueSupervisor('h1');
  nc = await connectWithCreds(b.url, creds.creds, { inboxPrefix: '_INBOX.sup.h1' });
});
afterAll(async () => {
  await nc.close();
  await b.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const base = (dir: string, onLost: (h: LeaseHolder | undefined) => void = () => undefined) => ({
  hostId: 'h1', dataDir: dir, version: 'test', logger, ttlMs: 1500, renewMs: 300, onLost,
});

describe('the host lease', () => {
  it('refuses a second holder while the first is alive, and names it', async () => {
    const dir = dataDir();
    const first = await acquireHostLease(() => nc, { ...base(dir), isLiveHolderHere: () => true });
    try {
      const err = await acquireHostLease(() => nc, { ...base(dataDir()), isLiveHolderHere: () => true }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HostHeld);
      expect((err as Error).message).toContain(`pid ${process.pid}`);
      expect((err as Error).message).toContain('host h1 is held by another supervisor');
      // The first one keeps renewing it.
      await new Promise((r) => setTimeout(r, 2000));
      expect(first.lost()).toBe(false);
    } finally {
      await first.stop(true);
    }
  });

  it('is taken over with the next epoch when its holder on this data dir is gone, or once it expired', async () => {
    const dir = dataDir();
    const holders = new Set<string>();
    const first = await acquireHostLease(() => nc, { ...base(dir), isLiveHolderHere: (h) => holders.has(h) });
    holders.add(first.holder);
    await first.stop(false); // a crash: the lease stays until it expires
    holders.delete(first.holder);
    const second = await acquireHostLease(() => nc, { ...base(dir), isLiveHolderHere: (h) => holders.has(h) });
    expect(second.epoch).toBe(first.epoch + 1);
    holders.add(second.holder);
    await second.stop(false);
    holders.delete(second.holder);
    // Another data dir cannot tell the holder is gone: it waits for the lease to expire.
    const elsewhere = dataDir();
    await expect(acquireHostLease(() => nc, { ...base(elsewhere), isLiveHolderHere: () => true })).rejects.toBeInstanceOf(HostHeld);
    const third = await waitFor(
      () => acquireHostLease(() => nc, { ...base(elsewhere), isLiveHolderHere: () => true }).catch(() => undefined),
      'the lease to expire',
      10_000,
    );
    expect(third.epoch).toBe(second.epoch + 1);
    await third.stop(true);
  });

  it('tells its holder when another took it over', async () => {
    const lost: Array<LeaseHolder | undefined> = [];
    const holder = await acquireHostLease(() => nc, { ...base(dataDir(), (h) => lost.push(h)), isLiveHolderHere: () => true });
    // Someone else writes the lease (as a takeover would).
    const kv = await new Kvm(nc).open(LEASES_BUCKET);
    const e = await kv.get('h1');
    const other = { ...(e!.json() as LeaseHolder), holder: 'someone-else', epoch: holder.epoch + 1 };
    await kv.update('h1', JSON.stringify(other), e!.revision);
    await waitFor(() => holder.lost(), 'the holder to notice', 5000);
    expect(lost[0]).toMatchObject({ holder: 'someone-else' });
    await holder.stop(false);
  });
});
