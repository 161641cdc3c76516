// Requests generated from an OpenAPI 3.1 document: fast-check arbitraries derived from each
// operation's JSON schemas (path and query parameters, the request body), valid by the schema
// and deliberately not, and an ajv validator of the answers against the document's declared
// response schemas.
import fc from 'fast-check';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

export type JsonSchema = Record<string, any>;
export interface OpenApiDoc {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, JsonSchema> };
}
export interface Parameter {
  in: 'path' | 'query' | 'header';
  name: string;
  required?: boolean;
  schema: JsonSchema;
}
export interface Operation {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: JsonSchema }> }>;
}
export interface OperationRef {
  method: string;
  path: string;
  op: Operation;
}

export interface FuzzRequest {
  method: string;
  /** Path with the parameters filled in (encoded), and the query string. */
  url: string;
  /** Undefined: no body. */
  body?: unknown;
  /** Whether the inputs were generated to be valid by the schemas (a valid input may still be refused by rules the schema cannot say). */
  valid: boolean;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

export function operationsOf(doc: OpenApiDoc): OperationRef[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => ({ method, path, op })),
  );
}

function resolve(schema: JsonSchema, doc: OpenApiDoc): JsonSchema {
  let s = schema;
  for (let i = 0; i < 20 && typeof s?.$ref === 'string'; i++) {
    const name = s.$ref.replace('#/components/schemas/', '');
    s = { ...doc.components?.schemas?.[name], ...Object.fromEntries(Object.entries(s).filter(([k]) => k !== '$ref')) };
  }
  return s ?? {};
}

const shortString = (min = 0, max = 40) => fc.string({ minLength: min, maxLength: Math.max(min, max), unit: 'grapheme' });

function stringArbitrary(s: JsonSchema): fc.Arbitrary<string> {
  const min = s.minLength ?? 0;
  const max = Math.min(s.maxLength ?? 40, 80);
  if (s.format === 'date-time') return fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());
  if (typeof s.pattern === 'string') {
    try {
      return fc.stringMatching(new RegExp(s.pattern)).filter((v) => v.length >= min && v.length <= (s.maxLength ?? Infinity));
    } catch {
      // a pattern fast-check cannot generate from: plain strings
    }
  }
  return shortString(min, max);
}

/** Values the schema admits (as far as a JSON schema can say). */
export function validArbitrary(schema: JsonSchema, doc: OpenApiDoc, depth = 0): fc.Arbitrary<unknown> {
  const s = resolve(schema, doc);
  if (depth > 6) return fc.constant(null);
  if ('const' in s) return fc.constant(s.const);
  if (Array.isArray(s.enum)) return fc.constantFrom(...s.enum);
  const alternatives = s.anyOf ?? s.oneOf;
  if (Array.isArray(alternatives)) return fc.oneof(...alternatives.map((a: JsonSchema) => validArbitrary(a, doc, depth + 1)));
  const types: string[] = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  if (types.length > 1) return fc.oneof(...types.map((type) => validArbitrary({ ...s, type }, doc, depth)));
  switch (types[0]) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return fc.integer({ min: Math.max(s.minimum ?? -1e6, Number.MIN_SAFE_INTEGER), max: Math.min(s.maximum ?? 1e6, Number.MAX_SAFE_INTEGER) });
    case 'number':
      return fc.double({ min: s.minimum ?? -1e6, max: s.maximum ?? 1e6, noNaN: true, noDefaultInfinity: true });
    case 'string':
      return stringArbitrary(s);
    case 'array':
      return fc.array(s.items ? validArbitrary(s.items, doc, depth + 1) : fc.jsonValue({ maxDepth: 2 }), {
        minLength: s.minItems ?? 0,
        maxLength: Math.min(s.maxItems ?? 4, 4),
      });
    case 'object': {
      const props: Record<string, JsonSchema> = s.properties ?? {};
      const known = Object.keys(props);
      if (known.length > 0) {
        return fc.record(Object.fromEntries(known.map((k) => [k, validArbitrary(props[k], doc, depth + 1)])), {
          requiredKeys: (s.required ?? []).filter((k: string) => known.includes(k)),
        });
      }
      const keys = s.propertyNames ? (validArbitrary({ type: 'string', ...s.propertyNames }, doc, depth + 1) as fc.Arbitrary<string>) : shortString(1, 20);
      const values = s.additionalProperties && typeof s.additionalProperties === 'object' ? validArbitrary(s.additionalProperties, doc, depth + 1) : fc.jsonValue({ maxDepth: 2 });
      return fc.dictionary(keys, values, { maxKeys: 4 });
    }
    default:
      return fc.jsonValue({ maxDepth: 3 });
  }
}

/** Values the schema does not admit, and odd ones: wrong types, missing and unknown keys, out-of-range numbers, over-long strings. */
export function invalidArbitrary(schema: JsonSchema, doc: OpenApiDoc): fc.Arbitrary<unknown> {
  const s = resolve(schema, doc);
  const odd = fc.oneof(
    fc.jsonValue({ maxDepth: 4 }),
    fc.constantFrom(null, '', 0, -1, 1e308, true, [], {}, 'x'.repeat(5000), '\u0000', '../../etc/passwd', '%00', '{{7*7}}', "' OR 1=1 --"),
    fc.constantFrom({ constructor: 1 }, JSON.parse('{"__proto__": {"polluted": 1}}'), { toString: 'x', valueOf: 1, hasOwnProperty: null }),
  );
  const props: Record<string, JsonSchema> | undefined = s.properties;
  if (!props || Object.keys(props).length === 0) return odd;
  const valid = validArbitrary(s, doc) as fc.Arbitrary<Record<string, unknown>>;
  const keys = Object.keys(props);
  return fc.oneof(
    odd,
    // One field of the wrong kind.
    fc.tuple(valid, fc.constantFrom(...keys), fc.jsonValue({ maxDepth: 2 })).map(([v, k, bad]) => ({ ...v, [k]: bad })),
    // A required field missing.
    ...(Array.isArray(s.required) && s.required.length > 0
      ? [fc.tuple(valid, fc.constantFrom(...(s.required as string[]))).map(([v, k]) => Object.fromEntries(Object.entries(v).filter(([key]) => key !== k)))]
      : []),
    // An unknown field, possibly named like an Object.prototype member.
    fc.tuple(valid, fc.constantFrom('unknown_field', 'constructor', 'toString', 'valueOf', 'hasOwnProperty'), fc.jsonValue({ maxDepth: 1 })).map(([v, k, x]) => ({ ...v, [k]: x })),
  );
}

const recent = fc.integer({ min: 1, max: 6 * 3600 }).map((s) => new Date(Date.now() - s * 1000).toISOString());
const QUERY_HINTS: ReadonlyMap<string, fc.Arbitrary<unknown>> = new Map<string, fc.Arbitrary<unknown>>([
  ['from', recent],
  ['to', fc.constant(undefined)],
  ['since', recent],
  ['until', fc.constant(undefined)],
  ['step', fc.constantFrom('10', '60', '5m', '1h', undefined)],
  ['names', fc.constantFrom('cpu_percent', 'memory_mb,error_rate', 'events_processed', undefined)],
]);

/** Requests for one operation; `pools` give real values for path parameters by name (ids that exist). */
export function requestArbitrary(ref: OperationRef, doc: OpenApiDoc, pools: Record<string, readonly string[]> = {}): fc.Arbitrary<FuzzRequest> {
  const params = ref.op.parameters ?? [];
  const pathParams = params.filter((p) => p.in === 'path');
  const queryParams = params.filter((p) => p.in === 'query');
  const bodySchema = ref.op.requestBody?.content['application/json']?.schema;

  const one = (valid: boolean) => {
    const pathArb = fc.record(
      Object.fromEntries(
        pathParams.map((p) => {
          const pool = pools[`${ref.path}:${p.name}`] ?? pools[p.name] ?? [];
          // A path segment is never empty (an empty one names another route).
          const generated = (
            valid ? validArbitrary(p.schema, doc) : fc.oneof(validArbitrary(p.schema, doc), fc.string({ maxLength: 300 }), fc.constantFrom('x'.repeat(400), '..', '%2F', 'constructor', '__proto__'))
          ).filter((v) => String(v) !== '');
          return [p.name, pool.length > 0 ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...pool) }, { weight: 1, arbitrary: generated }) : generated];
        }),
      ),
    );
    // Valid requests leave out what a schema cannot describe well enough to generate (a cursor
    // is an opaque token) and take realistic values for times and metric names.
    const validQuery = queryParams.filter((p) => p.name !== 'cursor');
    const queryArb = fc.record(
      Object.fromEntries(
        (valid ? validQuery : queryParams).map((p) => [p.name, valid ? (QUERY_HINTS.get(p.name) ?? validArbitrary(p.schema, doc)) : fc.oneof(validArbitrary(p.schema, doc), invalidArbitrary(p.schema, doc))]),
      ),
      { requiredKeys: queryParams.filter((p) => p.required).map((p) => p.name) },
    );
    const bodyArb: fc.Arbitrary<unknown> = bodySchema ? (valid ? validArbitrary(bodySchema, doc) : invalidArbitrary(bodySchema, doc)) : fc.constant(undefined);
    return fc.tuple(pathArb, queryArb, bodyArb).map(([pathValues, query, body]): FuzzRequest => {
      const path = ref.path.replace(/\{([^}]+)\}/g, (_m, name: string) => encodeURIComponent(String((pathValues as Record<string, unknown>)[name])));
      const search = new URLSearchParams();
      for (const [k, v] of Object.entries(query as Record<string, unknown>)) {
        if (v === undefined) continue;
        for (const item of Array.isArray(v) ? v : [v]) search.append(k, typeof item === 'string' ? item : JSON.stringify(item));
      }
      const qs = search.toString();
      return { method: ref.method.toUpperCase(), url: qs ? `${path}?${qs}` : path, body, valid };
    });
  };
  return fc.oneof(one(true), one(false));
}

/** Validates an answer against the schema the document declares for its status. */
export function createResponseValidator(doc: OpenApiDoc) {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  ajv.addSchema({ $id: 'openapi', components: doc.components ?? {} });
  const compiled = new Map<JsonSchema, ReturnType<Ajv2020['compile']>>();
  const rewrite = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(rewrite)
      : v && typeof v === 'object'
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, k === '$ref' && typeof x === 'string' && x.startsWith('#/') ? `openapi${x}` : rewrite(x)]))
        : v;
  return {
    /** Undefined when the answer is declared and matches; else what is wrong. */
    check(ref: OperationRef, status: number, contentType: string | null, body: unknown): string | undefined {
      const declared = ref.op.responses[String(status)];
      if (!declared) return `status ${status} is not declared (declared: ${Object.keys(ref.op.responses).join(', ')})`;
      const schema = declared.content?.['application/json']?.schema;
      if (!schema) return undefined;
      if (!(contentType ?? '').includes('json')) return `status ${status} declares JSON, got ${contentType}`;
      let validate = compiled.get(schema);
      if (!validate) compiled.set(schema, (validate = ajv.compile(rewrite(schema) as JsonSchema)));
      return validate(body) ? undefined : ajv.errorsText(validate.errors, { separator: '; ' });
    },
  };
}
