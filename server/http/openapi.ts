// The OpenAPI 3.1 document, generated from the same route declarations and zod schemas
// that validate requests.
import 'zod-openapi';
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject } from 'zod-openapi';
import type { z } from 'zod';
import type { RouteSpec } from './route.js';

export interface OpenApiOptions {
  version: string;
  /** Path prefix the routes are mounted under, e.g. `/api/v1`. */
  basePath: string;
}

export function buildOpenApi(routes: RouteSpec[], opts: OpenApiOptions): object {
  const paths: ZodOpenApiPathsObject = {};
  for (const r of routes) {
    const operation: ZodOpenApiOperationObject = {
      operationId: r.operationId,
      summary: r.summary,
      tags: r.tags,
      requestParams: {
        ...(r.params ? { path: r.params as z.ZodObject } : {}),
        ...(r.query ? { query: r.query as z.ZodObject } : {}),
      },
      responses: Object.fromEntries(
        Object.entries(r.responses).map(([status, res]) => [
          status,
          { description: res.description, ...(res.schema ? { content: { 'application/json': { schema: res.schema } } } : {}) },
        ]),
      ),
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: r.body } } } } : {}),
    };
    const path = `${opts.basePath}${r.path}`;
    paths[path] = { ...(paths[path] ?? {}), [r.method]: operation };
  }
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'OPMAS Agent Management System API',
      version: opts.version,
      description: 'Discovers, registers, configures, supervises and monitors OPMAS agents.',
    },
    servers: [{ url: '/' }],
    paths,
  });
}
