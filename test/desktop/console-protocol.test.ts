// opmas://console/: the bundled renderer with the console CSP, client-side routes, no way out
// of the renderer folder, and /api/ proxied to the real AMS (a process, as `npm run serve` runs
// it, with its first admin from OPMAS_ADMIN_PASSWORD).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleProtocolHandler, routeConsoleRequest } from '../../src-main/windows/console-protocol.js';
import { login, testPassword } from '../helpers/ams.js';
import { recordSecret } from '../helpers/secrets.js';
import { spawnAms, type SpawnedAms } from '../helpers/spawn-ams.js';
import { removeTempDirs, tempDir } from './helpers.js';

let rendererDir: string;
let ams: SpawnedAms;
let adminPassword: string;
let adminToken: string;
let amsUrl: string | null = null;
let hostMode = true;

beforeAll(async () => {
  const parent = tempDir('opmas-renderer-');
  rendererDir = path.join(parent, 'renderer');
  fs.mkdirSync(path.join(rendererDir, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>OPMAS Console</title><div id="root"></div>');
  fs.writeFileSync(path.join(rendererDir, 'assets/app-1234.js'), 'console.log("app")');
  fs.writeFileSync(path.join(parent, 'renderer-secret.txt'), 'outside');
  adminPassword = testPassword();
  ams = await spawnAms(['--port', '0', '--data-dir', tempDir('opmas-proto-ams-'), '--log-level', 'warn'], {
    TMPDIR: tempDir('opmas-tmp-'),
    OPMAS_ADMIN_PASSWORD: adminPassword,
  }).ready;
  adminToken = (await login(ams.url, 'admin', adminPassword)).access_token;
});
afterAll(async () => {
  ams?.child.kill('SIGTERM');
  await ams?.exited;
  removeTempDirs();
});

const handler = () => createConsoleProtocolHandler({ rendererDir, amsUrl: () => amsUrl, hostMode: () => hostMode, fetch });
const get = (url: string, init?: RequestInit) => handler()(new Request(url, init));

describe('console protocol routes', () => {
  it('maps URLs to files, app routes, the API, or nothing', () => {
    expect(routeConsoleRequest('opmas://console/')).toEqual({ kind: 'file', relPath: 'index.html' });
    expect(routeConsoleRequest('opmas://console/assets/app.js')).toEqual({ kind: 'file', relPath: 'assets/app.js' });
    expect(routeConsoleRequest('opmas://console/agents/security-1')).toEqual({ kind: 'app-route' });
    expect(routeConsoleRequest('opmas://console/api/v1/agents?limit=5')).toEqual({ kind: 'api', pathAndQuery: '/api/v1/agents?limit=5' });
    expect(routeConsoleRequest('opmas://console/..%2f..%2fetc%2fpasswd')).toEqual({ kind: 'not-found' });
    expect(routeConsoleRequest('opmas://console/assets/..%5c..%5csecret.txt')).toEqual({ kind: 'not-found' });
    expect(routeConsoleRequest('opmas://console/%E0%A4%A')).toEqual({ kind: 'not-found' });
    expect(routeConsoleRequest('opmas://elsewhere/index.html')).toEqual({ kind: 'not-found' });
    expect(routeConsoleRequest('https://console/index.html')).toEqual({ kind: 'not-found' });
  });
});

describe('console protocol handler', () => {
  it('serves the renderer with the console CSP and answers app routes with index.html', async () => {
    amsUrl = ams.url;
    hostMode = true;
    const page = await get('opmas://console/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self';");
    expect(page.headers.get('content-security-policy')).toContain("connect-src 'self' http://127.0.0.1:* ws://127.0.0.1:*");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await page.text()).toContain('<title>OPMAS Console</title>');

    const script = await get('opmas://console/assets/app-1234.js');
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await script.text()).toBe('console.log("app")');

    expect(await (await get('opmas://console/agents/security-1')).text()).toContain('<div id="root">');
    expect((await get('opmas://console/assets/missing.js')).status).toBe(404);
    expect((await get('opmas://console/assets')).status).toBe(200); // an app route, not the folder
    const escape = await get('opmas://console/..%2frenderer-secret.txt');
    expect(escape.status).toBe(404);
    expect(await escape.text()).not.toContain('outside');
    expect((await get('opmas://console/index.html', { method: 'POST', body: 'x' })).status).toBe(405);
  });

  it('narrows connect-src to the attached AMS in attach mode', async () => {
    amsUrl = 'https://ams.example.com';
    hostMode = false;
    const csp = (await get('opmas://console/')).headers.get('content-security-policy');
    expect(csp).toContain("connect-src 'self' https://ams.example.com wss://ams.example.com;");
  });

  it('tells which policy each page was served under (pages only), so another AMS later loads it again', async () => {
    amsUrl = 'https://ams.example.com';
    hostMode = false;
    const served: unknown[] = [];
    const h = createConsoleProtocolHandler({ rendererDir, amsUrl: () => amsUrl, hostMode: () => hostMode, fetch, servedDocument: (csp) => served.push(csp) });
    await h(new Request('opmas://console/agents/x'));
    await h(new Request('opmas://console/assets/app-1234.js'));
    expect(served).toEqual([{ amsUrl: 'https://ams.example.com', amsUrls: undefined, hostMode: false }]);
  });

  it('proxies /api/ to the real AMS transparently', async () => {
    amsUrl = ams.url;
    hostMode = true;
    const health = await get('opmas://console/api/v1/health');
    expect(health.status).toBe(200);
    const body = (await health.json()) as { components: { ams: { pid: number } } };
    expect(body.components.ams.pid).toBe(ams.child.pid);

    // A request with a body (and a bearer token) gets the same answer through the proxy as directly.
    const bad = { agent_name: '1-not-a-name', agent_version: 'x' };
    const init = () => ({ method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` }, body: JSON.stringify(bad) });
    const direct = await fetch(`${ams.url}/api/v1/agents`, init());
    const proxied = await get('opmas://console/api/v1/agents', init());
    expect(proxied.status).toBe(direct.status);
    expect(proxied.status).toBe(400);
    const [d, p] = [(await direct.json()) as { error: { code: string; details?: unknown } }, (await proxied.json()) as { error: { code: string; details?: unknown } }];
    expect(p.error.code).toBe(d.error.code);
    expect(p.error.details).toEqual(d.error.details);
    expect(JSON.stringify(p.error.details)).toContain('agent_name');
    // Query strings pass through.
    const auth = { headers: { authorization: `Bearer ${adminToken}` } };
    const list = await get('opmas://console/api/v1/agents?limit=1', auth);
    expect(list.status).toBe(200);
    expect(await list.json()).toEqual(await (await fetch(`${ams.url}/api/v1/agents?limit=1`, auth)).json());
    // Without the header the AMS refuses, through the proxy too.
    expect((await get('opmas://console/api/v1/agents?limit=1')).status).toBe(401);
  });

  it('forwards the Authorization header and answers 503 or 502 without a reachable AMS', async () => {
    amsUrl = ams.url;
    const signIn = await get('opmas://console/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: adminPassword }) });
    expect(signIn.status).toBe(200);
    const { access_token } = (await signIn.json()) as { access_token: string };
    recordSecret(access_token);
    const me = await get('opmas://console/api/v1/auth/me', { headers: { authorization: `Bearer ${access_token}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ username: 'admin', role: 'admin' });
    expect((await get('opmas://console/api/v1/auth/me', { headers: { authorization: 'Bearer not-a-token' } })).status).toBe(401);

    amsUrl = null;
    const none = await get('opmas://console/api/v1/health');
    expect(none.status).toBe(503);
    expect(await none.json()).toEqual({ error: { code: 'no_connection', message: 'No AMS is connected' } });

    amsUrl = 'http://127.0.0.1:1';
    const down = await get('opmas://console/api/v1/health');
    expect(down.status).toBe(502);
    expect(((await down.json()) as { error: { code: string } }).error.code).toBe('ams_unreachable');
  });
});
