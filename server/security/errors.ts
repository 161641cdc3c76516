// Authentication and authorization errors (401, 403, 429), in the standard error shape.
import { AmsError } from '../errors.js';

export class Unauthenticated extends AmsError {
  constructor(code = 'unauthenticated', message = 'Authentication is required: send Authorization: Bearer <token>') {
    super(401, code, message, undefined, { 'WWW-Authenticate': 'Bearer realm="opmas"' });
  }
}

export class InvalidToken extends Unauthenticated {
  constructor(reason: string) {
    super('invalid_token', `The bearer token is not valid: ${reason}`);
  }
}

export class Forbidden extends AmsError {
  constructor(message: string, details?: unknown, code = 'forbidden') {
    super(403, code, message, details);
  }
}

export class RateLimited extends AmsError {
  /** Whole seconds, as in the Retry-After header. */
  readonly retryAfterS: number;
  constructor(retryAfterS: number, message = 'Too many requests') {
    const seconds = Math.max(1, Math.ceil(retryAfterS));
    super(429, 'rate_limited', `${message}; retry after ${seconds} s`, { retry_after_s: seconds }, { 'Retry-After': String(seconds) });
    this.retryAfterS = seconds;
  }
}
