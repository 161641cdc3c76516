// The opmas://console/ protocol: serves the bundled renderer (out/renderer) with the console's
// CSP, answers client-side routes with index.html, and proxies /api/ to the active AMS so the
// renderer calls the same relative /api/v1 paths as when the AMS serves it in a browser. An AMS
// URL that does not answer is reported (the connection fails over) and the request is sent to
// the next one where that is safe.
// A plain (Request) => Response function: the app passes Electron's net.fetch, tests Node's fetch.
import fs from 'node:fs/promises';
import path from 'node:path';
import { gatewayFailure, networkFailure } from '../connection/endpoints.js';
import { buildCsp, CONSOLE_HOST, CONSOLE_SCHEME, type CspOptions } from './security.js';

/** How registerSchemesAsPrivileged must declare the scheme (before the app is ready). */
export const CONSOLE_SCHEME_PRIVILEGES = {
  scheme: CONSOLE_SCHEME,
  privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true, codeCache: true },
} as const;

export type ConsoleRoute =
  | { kind: 'api'; pathAndQuery: string }
  | { kind: 'file'; relPath: string }
  | { kind: 'app-route' }
  | { kind: 'not-found' };

/** Where a console URL goes. Pure: no file system, no network. */
export function routeConsoleRequest(url: string): ConsoleRoute {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { kind: 'not-found' };
  }
  if (u.protocol !== `${CONSOLE_SCHEME}:` || u.host !== CONSOLE_HOST) return { kind: 'not-found' };
  if (u.pathname === '/api' || u.pathname.startsWith('/api/')) return { kind: 'api', pathAndQuery: `${u.pathname}${u.search}` };
  let decoded: string;
  try {
    decoded = decodeURIComponent(u.pathname);
  } catch {
    return { kind: 'not-found' };
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return { kind: 'not-found' };
  const segments = decoded.split('/').filter((s) => s !== '');
  if (segments.some((s) => s === '..' || s === '.')) return { kind: 'not-found' };
  if (segments.length === 0) return { kind: 'file', relPath: 'index.html' };
  const relPath = segments.join('/');
  // Paths without an extension are the renderer's own routes (e.g. /agents/<id>).
  return path.posix.extname(relPath) ? { kind: 'file', relPath } : { kind: 'app-route' };
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

export function contentTypeFor(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

// Hop-by-hop and browser-only headers are not forwarded to the AMS; the body is re-encoded by fetch.
const DROP_REQUEST_HEADERS = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'content-length', 'origin', 'cookie', 'referer']);
const DROP_RESPONSE_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-encoding', 'content-length', 'set-cookie']);

export interface ConsoleProtocolDeps {
  /** The built renderer (out/renderer). */
  rendererDir: string;
  /** The active AMS base URL, or null before one is chosen or while the bundled AMS is down. */
  amsUrl(): string | null;
  /** Every AMS URL of the active attach profile (the page may have to reach any of them after a failover). */
  amsUrls?(): string[];
  /** `url` did not answer: the connection moves to the next URL of the profile, if it has one. */
  reportUnreachable?(url: string, reason: string): void;
  hostMode(): boolean;
  /** A page was served under this policy (what it may connect to stays so until it is loaded again). */
  servedDocument?(csp: CspOptions): void;
  /** Electron's net.fetch in the app (it honours the session's proxy settings); Node's fetch in tests. */
  fetch: typeof fetch;
}

export function createConsoleProtocolHandler(deps: ConsoleProtocolDeps): (request: Request) => Promise<Response> {
  const root = path.resolve(deps.rendererDir);
  const securityHeaders = () => ({
    'content-security-policy': buildCsp({ amsUrl: deps.amsUrl(), amsUrls: deps.amsUrls?.(), hostMode: deps.hostMode() }),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-cache',
  });
  const json = (status: number, code: string, message: string) =>
    new Response(JSON.stringify({ error: { code, message } }), { status, headers: { 'content-type': 'application/json', ...securityHeaders() } });

  async function serveFile(relPath: string): Promise<Response> {
    const file = path.resolve(root, relPath);
    if (file !== root && !file.startsWith(root + path.sep)) return json(404, 'not_found', 'No such file');
    try {
      const body = await fs.readFile(file);
      const headers = { 'content-type': contentTypeFor(file), ...securityHeaders() };
      if (file.endsWith('.html')) deps.servedDocument?.({ amsUrl: deps.amsUrl(), amsUrls: deps.amsUrls?.(), hostMode: deps.hostMode() });
      return new Response(new Uint8Array(body), { status: 200, headers });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') return json(404, 'not_found', 'No such file');
      throw err;
    }
  }

  async function proxy(request: Request, pathAndQuery: string): Promise<Response> {
    const headers = new Headers();
    request.headers.forEach((value, key) => {
      if (!DROP_REQUEST_HEADERS.has(key.toLowerCase())) headers.set(key, value);
    });
    const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
    const body = hasBody ? await request.arrayBuffer() : undefined;
    // A read may go to the next URL whatever happened; a write only when it surely never arrived.
    const resend = request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS';
    const tried = new Set<string>();
    for (;;) {
      const base = deps.amsUrl();
      if (!base) return json(503, 'no_connection', 'No AMS is connected');
      tried.add(base);
      let upstream: Response;
      try {
        upstream = await deps.fetch(`${base}${pathAndQuery}`, { method: request.method, headers, body, redirect: 'manual' });
      } catch (err) {
        const why = networkFailure(err);
        if (failOver(base, why.reason, why.notSent || resend, tried)) continue;
        return json(502, 'ams_unreachable', `The AMS at ${base} did not answer`);
      }
      const gateway = gatewayFailure(upstream.status, upstream.headers.get('content-type'));
      if (gateway && failOver(base, gateway.reason, gateway.notSent || resend, tried)) {
        await upstream.body?.cancel().catch(() => undefined);
        continue;
      }
      const out = new Headers();
      upstream.headers.forEach((value, key) => {
        if (!DROP_RESPONSE_HEADERS.has(key.toLowerCase())) out.set(key, value);
      });
      const nullBody = upstream.status === 204 || upstream.status === 304 || request.method === 'HEAD';
      return new Response(nullBody ? null : upstream.body, { status: upstream.status, statusText: upstream.statusText, headers: out });
    }
  }

  /** Reports `base` as not answering; true when the request should be sent again to the URL now in use. */
  function failOver(base: string, reason: string, mayResend: boolean, tried: Set<string>): boolean {
    deps.reportUnreachable?.(base, reason);
    const next = deps.amsUrl();
    return mayResend && next !== null && !tried.has(next);
  }

  return async (request) => {
    const route = routeConsoleRequest(request.url);
    switch (route.kind) {
      case 'api':
        return proxy(request, route.pathAndQuery);
      case 'file':
        if (request.method !== 'GET' && request.method !== 'HEAD') return json(405, 'method_not_allowed', 'The console files are read-only');
        return serveFile(route.relPath);
      case 'app-route':
        return serveFile('index.html');
      case 'not-found':
        return json(404, 'not_found', 'Not a console URL');
    }
  };
}
