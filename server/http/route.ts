// One declaration per HTTP route: method, path, zod schemas for params/query/body and
// responses, and the handler. The same declaration mounts the route with validation and
// produces its OpenAPI operation, so the contract is written once.
import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { type FieldIssue, UnsupportedMediaType, ValidationFailed } from '../errors.js';
import type { Permission } from '../security/permissions.js';
import { jsonLimitProblem } from '../domain/json-limits.js';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
export type Location = 'params' | 'query' | 'body';

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
}

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
}

export interface RouteSpec<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
> {
  method: Method;
  /** OpenAPI-style path relative to the API root, e.g. `/agents/{id}`. */
  path: string;
  operationId: string;
  summary: string;
  tags: string[];
  /**
   * What a caller needs: a permission, any authenticated principal, or nothing. Declared next
   * to every route; a test walks the router to make sure none is missing.
   */
  permission: Permission | 'authenticated' | 'public';
  /** The route's `{id}` is an agent ID: principals bound to that agent may use it, others bound to an agent may not. */
  agentScoped?: boolean;
  /** Audit action name; defaults to the operationId. */
  action?: string;
  /**
   * `auth`: the login/setup limits (per address and per username) apply. `health`: a probe
   * (health, Prometheus) with its own, much higher, limit; the failed-authentication block does
   * not apply to it.
   */
  rateLimit?: 'auth' | 'health';
  /**
   * A body carrying `discovery_token` authorizes the request instead of a bearer token (agent
   * registration, seed §4); the handler validates and consumes the token.
   */
  allowDiscoveryToken?: boolean;
  params?: P;
  query?: Q;
  body?: B;
  /** Success status; defaults to 200 (204 when the handler returns nothing). */
  status?: number;
  responses: Record<number, ResponseSpec>;
  handler: (ctx: Context, input: RouteInput<z.output<P>, z.output<Q>, z.output<B>>) => unknown;
}

/** Identity helper that lets TypeScript infer the handler's input types from the schemas. */
export function defineRoute<P extends z.ZodType = z.ZodObject, Q extends z.ZodType = z.ZodObject, B extends z.ZodType = z.ZodUnknown>(
  spec: RouteSpec<P, Q, B>,
): RouteSpec {
  return spec as unknown as RouteSpec;
}

export function koaPath(openApiPath: string): string {
  return openApiPath.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1');
}

/** Authentication, authorization and audit around each route (server/security/guard.ts). */
export interface RouteGuard {
  before(ctx: Context, spec: RouteSpec): Promise<void>;
  /** Sees every error before it is answered, and may answer another instead (a 429 for one 401 too many). */
  failed?(ctx: Context, spec: RouteSpec, error: unknown): Promise<unknown>;
  after(ctx: Context, spec: RouteSpec, outcome: { status: number; error?: unknown }): Promise<void>;
}

/** Mounts each route on the router: guard, then validation, then the handler, then the audit. */
export function mountRoutes(router: Router, routes: RouteSpec[], guard?: RouteGuard): void {
  for (const spec of routes) {
    router[spec.method](spec.operationId, koaPath(spec.path), async (ctx) => {
      let error: unknown;
      try {
        await guard?.before(ctx, spec);
        const input = validateInput(ctx, spec);
        const result = await spec.handler(ctx, input);
        if (result === undefined) {
          if (ctx.body === undefined) ctx.status = spec.status ?? 204;
          return;
        }
        ctx.status = spec.status ?? 200;
        ctx.body = result;
      } catch (err) {
        error = (await guard?.failed?.(ctx, spec, err)) ?? err;
        throw error;
      } finally {
        if (guard) {
          const status = error === undefined ? ctx.status : ((error as { status?: number }).status ?? 500);
          await guard.after(ctx, spec, { status, error });
        }
      }
    });
  }
}

function validateInput(ctx: Context, spec: RouteSpec): RouteInput<unknown, unknown, unknown> {
  const issues: FieldIssue[] = [];
  const parse = (schema: z.ZodType | undefined, value: unknown, where: Location) => {
    if (!schema) return where === 'body' ? undefined : value;
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    issues.push(...zodIssues(result.error, where));
    return undefined;
  };
  if (spec.body && hasBody(ctx) && !ctx.is('application/json', 'application/*+json')) {
    throw new UnsupportedMediaType(ctx.get('Content-Type') || undefined);
  }
  // Bounded before anything walks the body recursively (the NUL scan, zod, JSON.stringify on the
  // way to the database): a body nested thousands deep is a 400 naming the limit, not a stack overflow.
  const tooBig = jsonLimitProblem((ctx.request as { body?: unknown }).body);
  if (tooBig) throw new ValidationFailed([{ path: tooBig.path, reason: tooBig.reason, in: 'body' }]);
  // PostgreSQL cannot store NUL characters in text or JSONB: refuse them up front, by field.
  for (const [where, value] of [['params', ctx.params], ['query', ctx.query], ['body', (ctx.request as { body?: unknown }).body]] as const) {
    findNulStrings(value, '', (path) => issues.push({ path, reason: 'must not contain NUL (\\u0000) characters', in: where }));
  }
  const params = parse(spec.params, ctx.params ?? {}, 'params');
  const query = parse(spec.query, ctx.query, 'query');
  const body = parse(spec.body, (ctx.request as { body?: unknown }).body, 'body');
  if (issues.length > 0) throw new ValidationFailed(issues);
  return { params, query, body };
}

function findNulStrings(value: unknown, path: string, report: (path: string) => void, depth = 0): void {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) report(path);
  } else if (value && typeof value === 'object' && depth < 64) {
    for (const [key, child] of Object.entries(value)) {
      const childPath = path ? `${path}.${key}` : key;
      if (key.includes('\u0000')) report(childPath);
      else findNulStrings(child, childPath, report, depth + 1);
    }
  }
}

function hasBody(ctx: Context): boolean {
  return (ctx.request.length ?? 0) > 0 || ctx.get('Transfer-Encoding') !== '';
}

/** Zod issues as FieldIssues: dotted paths, and one entry per unexpected key. */
export function zodIssues(error: z.ZodError, where: Location): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const issue of error.issues) {
    const base = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: base ? `${base}.${key}` : key, reason: 'is not a known field', in: where });
    } else {
      out.push({ path: base, reason: issueReason(issue), in: where });
    }
  }
  return out;
}

function issueReason(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && issue.input === undefined) return 'is required';
  return issue.message;
}
