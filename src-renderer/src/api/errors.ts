// What can go wrong talking to the AMS, as values the views can explain: an HTTP error in the
// AMS's `{error: {code, message, details}}` shape, or the AMS not answering at all.

export interface FieldIssue {
  path: string;
  reason: string;
  in?: string;
}

export class ApiError extends Error {
  readonly kind = 'api' as const;
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly correlationId?: string,
    readonly request?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The 400 validation details, one per bad field (empty for other errors). */
  get fieldIssues(): FieldIssue[] {
    if (!Array.isArray(this.details)) return [];
    return this.details.filter((d): d is FieldIssue => typeof d === 'object' && d !== null && typeof (d as FieldIssue).path === 'string');
  }
}

/**
 * The request never got an answer: the AMS is down, unreachable, or the network failed. The
 * request (method and path) is kept for the console's own logs, never shown to people.
 */
export class NetworkError extends Error {
  readonly kind = 'network' as const;
  readonly code = 'network';
  constructor(readonly request: string, cause?: unknown) {
    super('The AMS did not answer');
    this.name = 'NetworkError';
    if (cause !== undefined) (this as { cause?: unknown }).cause = cause;
  }
}

export type ConsoleError = ApiError | NetworkError;

/** This AMS has no such route: an older AMS, or an API that is not built yet. */
export function isMissingEndpoint(err: unknown): boolean {
  return err instanceof ApiError && err.status === 404 && err.code === 'not_found';
}

const STATUS_TEXT: Record<number, string> = {
  401: 'Your session is no longer valid; sign in again.',
  403: 'Your role is not allowed to do this.',
  429: 'The AMS is busy (too many requests); try again in a moment.',
  502: 'The AMS could not be reached through its proxy.',
  503: 'The AMS is not ready (its database or broker is unavailable).',
};

/** An API path or a method and path ("GET /api/v1/x"), which people should not have to read. */
const RAW_PATH = /(?:(?:GET|POST|PUT|DELETE|PATCH)\s+)?\/api\/v\d+\/\S*/g;

/** One sentence saying what failed, for error states; never an API path. */
export function describeError(err: unknown): string {
  if (isMissingEndpoint(err)) return 'This AMS does not offer this yet (it is older than the console).';
  if (err instanceof ApiError) {
    const fields = err.fieldIssues.map((f) => `${f.path || '(body)'} ${f.reason}`);
    const message = /^(GET|POST|PUT|DELETE|PATCH) \//.test(err.message) || !err.message ? (STATUS_TEXT[err.status] ?? `The AMS answered HTTP ${err.status}.`) : err.message.replace(RAW_PATH, 'the AMS');
    const base = `${message}${message.endsWith('.') ? '' : '.'}`;
    return fields.length > 0 && !fields.every((f) => base.includes(f)) ? `${base} ${fields.join('; ')}` : base;
  }
  if (err instanceof NetworkError) return 'The AMS did not answer: it may be stopped or unreachable.';
  if (err instanceof Error) return err.message.replace(RAW_PATH, 'the AMS');
  return String(err);
}
