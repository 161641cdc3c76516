// API version selection: `/api/v<N>/...` paths, or an unversioned `/api/...` path with an
// `API-Version` header or `?api_version=`. Unknown versions are a 400 naming the supported ones.
import type { Context, Next } from 'koa';
import { UnsupportedApiVersion } from '../errors.js';

export const SUPPORTED_API_VERSIONS = ['1'] as const;
export const CURRENT_API_VERSION = '1';

/** '1', 'v1', '1.0', '1.2.3' -> '1'; anything else -> undefined. */
export function majorOf(requested: string): string | undefined {
  return /^v?(\d+)(?:\.\d+){0,2}$/i.exec(requested.trim())?.[1];
}

export function apiVersioning() {
  return async function selectApiVersion(ctx: Context, next: Next): Promise<void> {
    ctx.set('API-Version', CURRENT_API_VERSION);
    if (ctx.path === '/api' || ctx.path.startsWith('/api/')) {
      const fromPath = /^\/api\/v([^/]+)(?=\/|$)/.exec(ctx.path)?.[1];
      const header = ctx.get('API-Version');
      const queryValue = ctx.query.api_version;
      const fromQuery = Array.isArray(queryValue) ? queryValue[0] : queryValue;
      for (const requested of [fromPath, header || undefined, fromQuery]) {
        if (requested === undefined) continue;
        const major = majorOf(requested);
        if (!major || !(SUPPORTED_API_VERSIONS as readonly string[]).includes(major)) {
          throw new UnsupportedApiVersion(requested, SUPPORTED_API_VERSIONS);
        }
      }
      if (fromPath === undefined) {
        const major = majorOf(header || fromQuery || CURRENT_API_VERSION) ?? CURRENT_API_VERSION;
        ctx.path = `/api/v${major}${ctx.path.slice('/api'.length)}`;
      }
    }
    await next();
  };
}
