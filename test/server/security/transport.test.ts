// Rate limits (OWASP API4), TLS, the non-loopback refusal, security headers and CORS.
import fs from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { generate } from 'selfsigned';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { startAms } from '../../../server/ams.js';
import { parseSettings, SettingsError } from '../../../server/settings.js';
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

/** A login attempt from a chosen loopback address (Linux routes all of 127/8 to lo). */
function loginFrom(url: string, localAddress: string, username: string): Promise<{ status: number; retryAfter?: string }> {
  const body = JSON.stringify({ username, password: 'wrong-password-here' });
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/api/v1/auth/login`, { method: 'POST', localAddress, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] as string | undefined }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('rate limits', () => {
  it('limit login per source address and per username with 429 and Retry-After', async () => {
    const t = await ams({ settings: { loginRateLimitPerMinute: 3 } });
    const fromA = [];
    for (let i = 0; i < 4; i++) fromA.push(await loginFrom(t.url, '127.0.0.2', `user${i}`));
    expect(fromA.map((r) => r.status)).toEqual([401, 401, 401, 429]);
    expect(Number(fromA[3].retryAfter)).toBeGreaterThan(0);

    // One username from many addresses: the per-username limit holds.
    const spread = [];
    for (let i = 0; i < 4; i++) spread.push(await loginFrom(t.url, `127.0.1.${i + 1}`, 'target-user'));
    expect(spread.map((r) => r.status)).toEqual([401, 401, 401, 429]);
    const body = (await t.anon.post('/api/v1/auth/login', { username: 'target-user', password: 'x' })).body;
    expect(body.error.code).toBe('rate_limited');
  });

  it('limit the general API per token', async () => {
    const t = await ams({ settings: { rateLimitPerMinute: 5 } });
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await t.api.get('/api/v1/agents')).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    const limited = await t.api.get('/api/v1/agents');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
  });
});

describe('TLS', () => {
  it('serves HTTPS with --tls-cert/--tls-key', async () => {
    const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
      keySize: 2048,
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
    } as never);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-tls-'));
    fs.writeFileSync(path.join(dir, 'cert.pem'), pems.cert);
    fs.writeFileSync(path.join(dir, 'key.pem'), pems.private, { mode: 0o600 });
    const settings = parseSettings(['--port', '0', '--data-dir', dir, '--tls-cert', path.join(dir, 'cert.pem'), '--tls-key', path.join(dir, 'key.pem')], {});
    const t = await startAms(settings, { logger: pino({ level: 'silent' }), env: {}, announce: () => undefined });
    expect(t.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const status = await new Promise<number>((resolve, reject) => {
      https.get(`${t.url}/api/v1/health`, { ca: pems.cert }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      }).on('error', reject);
    });
    expect(status).toBe(200);
    const plain = await new Promise<string>((resolve) => {
      http.get(t.url.replace('https', 'http') + '/api/v1/health', (res) => resolve(String(res.statusCode))).on('error', (e) => resolve(e.message));
    });
    expect(plain).not.toBe('200');
    await t.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a non-loopback address without TLS unless --insecure is given', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-insecure-'));
    const logger = pino({ level: 'silent' });
    const settings = parseSettings(['--host', '0.0.0.0', '--port', '0', '--data-dir', dataDir], {});
    await expect(startAms(settings, { logger, env: {} })).rejects.toThrow(SettingsError);
    await expect(startAms(settings, { logger, env: {} })).rejects.toThrow(/without TLS.*--insecure/);
    const lines: string[] = [];
    const warned = pino({ level: 'warn' }, { write: (l: string) => lines.push(l) });
    const insecure = await startAms({ ...settings, insecure: true }, { logger: warned, env: {}, announce: () => undefined });
    expect(insecure.url).toMatch(/^http:\/\/127\.0\.0\.1:/);
    expect(lines.join('')).toContain('--insecure');
    await insecure.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
});

describe('headers', () => {
  it('set security headers on every response and keep CORS closed by default', async () => {
    const t = await ams({});
    const res = await t.anon.get('/api/v1/health', { Origin: 'https://evil.example' });
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const err = await t.anon.get('/api/v1/agents');
    expect(err.headers.get('content-security-policy')).toContain("default-src 'self'");
  });

  it('allow exactly the configured CORS origins', async () => {
    const t = await ams({ settings: { corsOrigins: ['https://console.example'] } });
    const ok = await t.anon.raw('/api/v1/agents', { method: 'OPTIONS', headers: { Origin: 'https://console.example', 'Access-Control-Request-Method': 'GET' } });
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://console.example');
    const evil = await t.anon.raw('/api/v1/agents', { method: 'OPTIONS', headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'GET' } });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  });
});
