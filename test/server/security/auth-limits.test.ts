// Failed authentications are limited per client address (429 with Retry-After past the limit);
// the client address is the socket's, or the X-Forwarded-For entry a proxy declared with
// --trust-proxy added, never a header a client sent on its own. Health and the Prometheus
// scrape have their own, much higher, limit. While the shared counter store cannot be reached,
// the limits hold in memory.
import http from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { createRateLimits } from '../../../server/security/rate-limits.js';
import { RateLimited } from '../../../server/security/errors.js';
import { emptyDatabase } from '../../helpers/test-db.js';
import { migrateLatest } from '../../../server/db/migrate.js';
import { startTestAms, type TestAms } from '../../helpers/ams.js';

const started: TestAms[] = [];
afterAll(async () => {
  for (const t of started) await t.stop();
});
async function ams(opts: Parameters<typeof startTestAms>[0]) {
  const t = await startTestAms(opts);
  started.push(t);
  return t;
}

interface Answer {
  status: number;
  retryAfter?: string;
  body: any;
}

/** A request from a chosen loopback address (Linux routes all of 127/8 to lo). */
function requestFrom(url: string, localAddress: string, path: string, opts: { method?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<Answer> {
  const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const headers: Record<string, string | number> = { ...opts.headers, ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}) };
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${path}`, { method: opts.method ?? 'GET', localAddress, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON (the Prometheus text)
        }
        resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] as string | undefined, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

describe('failed authentication', () => {
  it('answers 429 with Retry-After once one address has sent too many invalid bearer tokens (default limit)', async () => {
    const t = await ams({});
    const statuses: number[] = [];
    let limited: Answer | undefined;
    for (let i = 0; i < 70; i++) {
      const res = await requestFrom(t.url, '127.0.0.3', '/api/v1/agents', { headers: bearer(`forged-token-${i}`) });
      statuses.push(res.status);
      if (res.status === 429) limited ??= res;
    }
    expect(statuses.slice(0, 30).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(30).every((s) => s === 429)).toBe(true);
    expect(Number(limited!.retryAfter)).toBeGreaterThan(0);
    expect(limited!.body.error).toMatchObject({ code: 'rate_limited', details: { retry_after_s: Number(limited!.retryAfter) } });

    // The address is blocked whatever it sends, so a guess that happens to be right is no signal...
    const adminToken = (await t.anon.post('/api/v1/auth/login', { username: 'admin', password: t.adminPassword })).body.access_token;
    expect((await requestFrom(t.url, '127.0.0.3', '/api/v1/agents', { headers: bearer(adminToken) })).status).toBe(429);
    // ...while other addresses and the health probe are not affected.
    expect((await requestFrom(t.url, '127.0.0.1', '/api/v1/agents', { headers: bearer(adminToken) })).status).toBe(200);
    expect((await requestFrom(t.url, '127.0.0.3', '/api/v1/health')).status).toBe(200);
    // A refused change is in the audit log, with the address.
    expect((await requestFrom(t.url, '127.0.0.3', '/api/v1/config', { method: 'PUT', headers: bearer(adminToken), body: { a: 1 } })).status).toBe(429);
    const audit = await t.api.get('/api/v1/audit?action=config.fleet.update');
    expect(audit.body.items[0]).toMatchObject({ status: 429, source: '127.0.0.3', result: 'denied', details: { error: 'rate_limited' } });
  });

  it('counts every kind of refused credential, but not a request that sent none', async () => {
    const t = await ams({ settings: { authFailureRateLimitPerMinute: 5 } });
    for (let i = 0; i < 20; i++) expect((await requestFrom(t.url, '127.0.0.4', '/api/v1/agents')).status).toBe(401);
    const attempts = [
      () => requestFrom(t.url, '127.0.0.4', '/api/v1/auth/refresh', { method: 'POST', body: { refresh_token: 'ort_guess' } }),
      () => requestFrom(t.url, '127.0.0.4', '/api/v1/auth/login', { method: 'POST', body: { username: 'admin', password: 'not-the-password' } }),
      () => requestFrom(t.url, '127.0.0.4', '/api/v1/agents', { headers: bearer('oat_guess') }),
      () => requestFrom(t.url, '127.0.0.4', '/api/v1/agents', { method: 'POST', body: { agent_name: 'A', agent_version: '1.0.0', agent_type: 'x', discovery_token: 'odt_guess' } }),
      () => requestFrom(t.url, '127.0.0.4', '/metrics', { headers: bearer('not.a.jwt') }),
    ];
    for (const attempt of attempts) expect((await attempt()).status).toBe(401);
    const sixth = await attempts[0]();
    expect(sixth.status).toBe(429);
    expect(Number(sixth.retryAfter)).toBeGreaterThan(0);
  });

  it('does not believe X-Forwarded-For from a client when no proxy is trusted', async () => {
    const t = await ams({ settings: { authFailureRateLimitPerMinute: 3 } });
    const statuses = [];
    for (let i = 0; i < 5; i++) {
      statuses.push((await requestFrom(t.url, '127.0.0.6', '/api/v1/agents', { headers: { ...bearer('bad'), 'X-Forwarded-For': `198.51.100.${i + 1}` } })).status);
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
  });

  it('takes the client address from a trusted proxy (--trust-proxy), per client behind it', async () => {
    const t = await ams({ settings: { authFailureRateLimitPerMinute: 3, trustProxy: ['127.0.0.7'] } });
    // POSTs, so that each attempt leaves an audit row with the address it was judged by.
    const from = (client: string, spoofed?: string) =>
      requestFrom(t.url, '127.0.0.7', '/api/v1/config', { method: 'PUT', body: {}, headers: { ...bearer('bad'), 'X-Forwarded-For': spoofed ? `${spoofed}, ${client}` : client } });
    const first = [];
    for (let i = 0; i < 4; i++) first.push((await from('198.51.100.1')).status);
    expect(first).toEqual([401, 401, 401, 429]);
    // Another client behind the same proxy has its own count, even if it claims to be someone else.
    expect((await from('198.51.100.2', '198.51.100.9')).status).toBe(401);
    // A request from an address that is not the trusted proxy is judged by its socket.
    expect((await requestFrom(t.url, '127.0.0.8', '/api/v1/config', { method: 'PUT', body: {}, headers: { ...bearer('bad'), 'X-Forwarded-For': '198.51.100.1' } })).status).toBe(401);
    const audit = await t.api.get('/api/v1/audit?action=config.fleet.update&limit=20');
    const sources = new Set(audit.body.items.map((r: any) => r.source));
    expect(sources).toContain('198.51.100.1');
    expect(sources).toContain('198.51.100.2');
    expect(sources).toContain('127.0.0.8');
    expect(sources).not.toContain('198.51.100.9');
  });
});

describe('health and Prometheus', () => {
  it('have their own limit, which a flood of API calls from the same address does not use up', async () => {
    const t = await ams({ settings: { rateLimitPerMinute: 5, healthRateLimitPerMinute: 12 } });
    const api = [];
    for (let i = 0; i < 7; i++) api.push((await requestFrom(t.url, '127.0.0.9', '/api/v1/agents')).status);
    expect(api).toEqual([401, 401, 401, 401, 401, 429, 429]);
    const probes = [];
    for (let i = 0; i < 10; i++) probes.push((await requestFrom(t.url, '127.0.0.9', '/api/v1/health')).status);
    expect(probes.every((s) => s === 200)).toBe(true);
    const token = (await t.api.post('/api/v1/tokens', { name: 'prometheus', role: 'read-only' })).body.token;
    expect((await requestFrom(t.url, '127.0.0.9', '/metrics', { headers: bearer(token) })).status).toBe(200);
    expect((await requestFrom(t.url, '127.0.0.9', '/api/health')).status).toBe(200);
    const over = await requestFrom(t.url, '127.0.0.9', '/api/v1/health');
    expect(over.status).toBe(429);
    expect(Number(over.retryAfter)).toBeGreaterThan(0);
    // Per address: another prober is unaffected.
    expect((await requestFrom(t.url, '127.0.0.10', '/api/v1/health')).status).toBe(200);
  });
});

describe('shared counters', () => {
  it('are kept in the database, and in memory with the same limits while it cannot be reached', async () => {
    const { db, drop } = await emptyDatabase('rl');
    await migrateLatest(db.knex);
    const limits = createRateLimits({ loginPerMinute: 3, apiPerMinute: 100, authFailuresPerMinute: 2, healthPerMinute: 100 }, { db, logger: pino({ level: 'silent' }) });
    await limits.consumeLogin('198.51.100.1', 'someone');
    const rows = await db.knex('rate_limits').select('key', 'points').orderBy('key');
    expect(rows).toEqual([{ key: 'login-ip:198.51.100.1', points: 1 }, { key: 'login-user:someone', points: 1 }]);
    await drop();

    // The database is gone: each further attempt is still counted, in memory.
    await limits.consumeLogin('198.51.100.2', undefined);
    await limits.consumeLogin('198.51.100.2', undefined);
    await limits.consumeLogin('198.51.100.2', undefined);
    await expect(limits.consumeLogin('198.51.100.2', undefined)).rejects.toBeInstanceOf(RateLimited);
    expect(await limits.recordAuthFailure('198.51.100.3')).toBeUndefined();
    expect(await limits.recordAuthFailure('198.51.100.3')).toBeUndefined();
    expect(await limits.recordAuthFailure('198.51.100.3')).toBeInstanceOf(RateLimited);
    expect(() => limits.assertNotBlocked('198.51.100.3')).toThrow(RateLimited);
    limits.stop();
  });
});
