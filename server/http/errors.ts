// Maps every error to the `{error: {code, message, details?, correlation_id}}` shape.
// Known errors keep their status; anything else is a 500 with a correlation id and no stack.
import type { Context, Next } from 'koa';
import type { Logger } from 'pino';
import { AmsError, InvalidJson, PayloadTooLarge, UnsupportedMediaType, ValidationFailed } from '../errors.js';
import { protoKeyPath } from '../domain/json-limits.js';
import { asDatabaseUnavailable } from '../db/database.js';

export const BODY_LIMIT_BYTES = 1024 * 1024;

export function errorBody(ctx: Context, code: string, message: string, details?: unknown) {
  return { error: { code, message, ...(details === undefined ? {} : { details }), correlation_id: ctx.state.requestId as string } };
}

export function errorHandler(logger: Logger) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        ctx.status = 404;
        ctx.body = errorBody(ctx, 'not_found', `No route for ${ctx.method} ${ctx.path}`);
      } else if (ctx.status === 405 && ctx.body === undefined) {
        ctx.body = errorBody(ctx, 'method_not_allowed', `${ctx.method} is not allowed on ${ctx.path}`);
      }
    } catch (raw) {
      const err = toAmsError(raw);
      if (err) {
        ctx.status = err.status;
        ctx.body = errorBody(ctx, err.code, err.message, err.details);
        if (err.headers) ctx.set(err.headers);
        if (err.status >= 500) logger.warn({ requestId: ctx.state.requestId, code: err.code, msg: err.message }, 'request failed');
        return;
      }
      ctx.status = 500;
      ctx.body = errorBody(ctx, 'internal_error', 'Internal error; quote the correlation id when reporting it');
      logger.error({ err: raw, requestId: ctx.state.requestId, method: ctx.method, path: ctx.path }, 'unhandled error');
    }
  };
}

function toAmsError(err: unknown): AmsError | undefined {
  if (err instanceof AmsError) return err;
  const db = asDatabaseUnavailable(err);
  if (db) return db;
  const e = err as { status?: number; statusCode?: number; type?: string; message?: string; expose?: boolean };
  switch (e?.type) {
    case 'entity.too.large':
      return new PayloadTooLarge(BODY_LIMIT_BYTES);
    case 'entity.parse.failed':
      return new InvalidJson(cleanParseMessage(e.message));
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new UnsupportedMediaType(e.message);
    case 'request.aborted':
      return new AmsError(400, 'request_aborted', 'The request body was not received completely');
    case 'request.size.invalid':
      return new AmsError(400, 'invalid_body_length', 'Content-Length does not match the body');
  }
  // PostgreSQL data exceptions (class 22: out-of-range numbers, bad encodings) come from values a client sent.
  const sqlState = (err as { code?: unknown })?.code;
  if (typeof sqlState === 'string' && /^22[0-9A-Z]{3}$/.test(sqlState)) {
    return new AmsError(400, 'invalid_value', 'A value in the request cannot be stored (out of range or not representable)');
  }
  const status = e?.status ?? e?.statusCode;
  // co-body reports unparseable JSON as a SyntaxError carrying status 400; its JSON parser
  // (@hapi/bourne) refuses `__proto__` keys outright, which is answered naming where the key is.
  if (err instanceof SyntaxError && status === 400) return protoKeyError(err) ?? new InvalidJson(cleanParseMessage(e.message));
  if (typeof status === 'number' && status >= 400 && status < 500 && e?.expose) {
    return new AmsError(status, status === 404 ? 'not_found' : 'bad_request', e.message ?? 'Bad request');
  }
  return undefined;
}

function protoKeyError(err: SyntaxError): AmsError | undefined {
  if (!/prototype property/.test(err.message)) return undefined;
  const text = (err as { body?: unknown }).body;
  let path = '';
  try {
    // JSON.parse keeps `__proto__` as an own key (and parses iteratively, so no depth can hurt it).
    if (typeof text === 'string') path = protoKeyPath(JSON.parse(text)) ?? '';
  } catch {
    // unreachable: bourne parsed the same text before refusing it
  }
  return new ValidationFailed([{ path, reason: 'the key "__proto__" is not allowed', in: 'body' }]);
}

function cleanParseMessage(message: string | undefined): string {
  return (message ?? 'unparseable body').replace(/\s+/g, ' ').slice(0, 200);
}
