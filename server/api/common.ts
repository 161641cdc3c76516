// Schemas shared by every resource: errors, pages, pagination query, actor of a change.
import type { Context } from 'koa';
import { z } from 'zod';
import type { ResponseSpec, RouteSpec } from '../http/route.js';

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.unknown().optional(),
      correlation_id: z.string(),
    }),
  })
  .meta({ id: 'Error' });

export const pageOf = <T extends z.ZodType>(item: T, id: string) =>
  z.object({ items: z.array(item), next_cursor: z.string().nullable() }).meta({ id });

export const MAX_PAGE = 500;

export const paginationQuery = {
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(50).describe(`Page size, 1 to ${MAX_PAGE}`),
  cursor: z.string().max(512).optional().describe('next_cursor of the previous page'),
};

export const errorResponses = (...statuses: number[]): Record<number, ResponseSpec> => {
  const text: Record<number, string> = {
    400: 'Invalid request: one entry per bad field in error.details',
    401: 'Missing or invalid credentials',
    403: 'Not permitted',
    404: 'Not found',
    409: 'Conflict',
    413: 'Body larger than 1 MiB',
    415: 'Body is not JSON',
    429: 'Too many requests (Retry-After says when to retry)',
    503: 'A dependency (database or broker) is unavailable',
    504: 'The agent did not answer in time',
  };
  return Object.fromEntries(statuses.map((s) => [s, { description: text[s] ?? 'Error', schema: ErrorSchema }]));
};

/**
 * The route's responses plus those the shared middleware can answer on any route, so that the
 * OpenAPI document declares every status a route can answer: 400 (an unsupported API version, a
 * path or query value out of bounds, a bad body), 401 and 403 where the route needs a
 * principal, 413 and 415 where it takes a body, 429 (rate limits) and 503 (the database).
 */
export function withImplicitResponses(route: RouteSpec): RouteSpec {
  const implicit = [400, 429, 503];
  if (route.permission !== 'public' || route.rateLimit === 'auth' || route.allowDiscoveryToken) implicit.push(401);
  if (route.permission !== 'public' && route.permission !== 'authenticated') implicit.push(403);
  if (route.body) implicit.push(413, 415);
  const missing = implicit.filter((s) => !Object.hasOwn(route.responses, s));
  return missing.length === 0 ? route : { ...route, responses: { ...route.responses, ...errorResponses(...missing) } };
}

/** Who is making a change, for config authorship (the route guard sets ctx.state.principal). */
export function actorName(ctx: Context): string {
  const principal = ctx.state.principal as { name?: string } | undefined;
  return principal?.name ?? 'anonymous';
}

/** A query value that may repeat (`?label=a&label=b`) as an array. */
export const repeated = <T extends z.ZodType>(item: T) =>
  z.preprocess((v) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]), z.array(item).max(20).optional());
