// Domain errors: values with a stable `code` and an HTTP status, mapped to the
// `{error: {code, message, details?}}` shape by one middleware (server/http/errors.ts).

export interface FieldIssue {
  /** Dotted path of the offending field (`labels.site`, `subscribed_topics.0`); '' for the whole body. */
  path: string;
  reason: string;
  /** Where the field was: body, query, params or header. */
  in?: 'body' | 'query' | 'params' | 'header';
}

export class AmsError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationFailed extends AmsError {
  constructor(readonly issues: FieldIssue[], message = describeIssues(issues)) {
    super(400, 'validation_failed', message, issues);
  }
}

export class InvalidJson extends AmsError {
  constructor(reason: string) {
    super(400, 'invalid_json', `Request body is not valid JSON: ${reason}`, [{ path: '', reason, in: 'body' }]);
  }
}

export class NotFound extends AmsError {
  constructor(code: string, message: string) {
    super(404, code, message);
  }
}

export class AgentNotFound extends NotFound {
  constructor(id: string) {
    super('agent_not_found', `Agent ${JSON.stringify(id)} does not exist`);
  }
}

export class Conflict extends AmsError {
  constructor(code: string, message: string, details?: unknown) {
    super(409, code, message, details);
  }
}

export class PayloadTooLarge extends AmsError {
  constructor(limitBytes: number) {
    super(413, 'payload_too_large', `Request body exceeds the limit of ${limitBytes} bytes`, { limit_bytes: limitBytes });
  }
}

export class UnsupportedMediaType extends AmsError {
  constructor(got: string | undefined) {
    super(415, 'unsupported_media_type', `Request body must be application/json${got ? `, got ${got}` : ''}`);
  }
}

export class DatabaseUnavailable extends AmsError {
  constructor(reason: string) {
    super(503, 'database_unavailable', `The database is unavailable: ${reason}`, undefined, { 'Retry-After': '5' });
  }
}

export class BrokerUnavailable extends AmsError {
  constructor(reason: string) {
    super(503, 'broker_unavailable', `The message broker is unavailable: ${reason}`, undefined, { 'Retry-After': '5' });
  }
}

/** Something the request needs is not running (no supervisor answered, say); retry later. */
export class ServiceUnavailable extends AmsError {
  constructor(code: string, message: string, details?: unknown) {
    super(503, code, message, details, { 'Retry-After': '5' });
  }
}

/** A control request reached the broker but no agent answered it (not connected, or too slow). */
export class AgentUnreachable extends AmsError {
  constructor(reason: string) {
    super(504, 'agent_unreachable', `The agent did not answer: ${reason}`);
  }
}

/** A request nobody is subscribed to (NATS "no responders"): the subscriber may be reconnecting. */
export class NoResponders extends AgentUnreachable {
  constructor(subject: string) {
    super(`nobody is subscribed to ${subject}`);
  }
}

export class UnsupportedApiVersion extends AmsError {
  constructor(requested: string, supported: readonly string[]) {
    super(
      400,
      'unsupported_api_version',
      `API version ${JSON.stringify(requested)} is not supported; supported versions: ${supported.join(', ')}`,
      { requested, supported },
    );
  }
}

function describeIssues(issues: FieldIssue[]): string {
  if (issues.length === 0) return 'Request is invalid';
  const parts = issues.slice(0, 5).map((i) => `${i.path || '(body)'}: ${i.reason}`);
  const more = issues.length > 5 ? ` (and ${issues.length - 5} more)` : '';
  return `Invalid request: ${parts.join('; ')}${more}`;
}
