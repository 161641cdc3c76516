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

/** The request never got an answer: the AMS is down, unreachable, or the network failed. */
export class NetworkError extends Error {
  readonly kind = 'network' as const;
  readonly code = 'network';
  constructor(readonly request: string, cause?: unknown) {
    super(`The AMS did not answer ${request}`);
    this.name = 'NetworkError';
    if (cause !== undefined) (this as { cause?: unknown }).cause = cause;
  }
}

export type ConsoleError = ApiError | NetworkError;

/** This AMS has no such route: an older AMS, or an API that is not built yet. */
export function isMissingEndpoint(err: unknown): boolean {
  return err instanceof ApiError && err.status === 404 && err.code === 'not_found';
}

/** One sentence saying what failed, for error states. */
export function describeError(err: unknown): string {
  if (isMissingEndpoint(err)) return `This AMS does not serve ${(err as ApiError).request ?? 'this endpoint'} (404 no route).`;
  if (err instanceof ApiError) {
    const fields = err.fieldIssues.map((f) => `${f.path || '(body)'} ${f.reason}`);
    const base = `${err.message}${err.message.endsWith('.') ? '' : '.'}`;
    return fields.length > 0 && !fields.every((f) => base.includes(f)) ? `${base} ${fields.join('; ')}` : base;
  }
  if (err instanceof NetworkError) return `${err.message}: it may be stopped or unreachable.`;
  if (err instanceof Error) return err.message;
  return String(err);
}
