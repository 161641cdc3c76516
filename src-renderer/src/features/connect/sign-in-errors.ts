// Which field of the sign-in and first-run forms an error belongs to, so it is shown by that
// field: the AMS's 400 details name fields, and some codes belong to one field. The messages
// never repeat what was typed (a password or a token is never echoed back).
import { ApiError, describeError } from '../../api/errors';

export type SignInField = 'token' | 'username' | 'password' | 'confirm';
export type SignInErrors = Partial<Record<SignInField | 'form', string>>;

const CODE_FIELD: Record<string, SignInField> = {
  invalid_setup_token: 'token',
  invalid_credentials: 'password',
};

export function signInErrors(err: unknown): SignInErrors {
  if (!(err instanceof ApiError)) return { form: describeError(err) };
  const out: SignInErrors = {};
  for (const issue of err.fieldIssues) {
    const field = (['token', 'username', 'password'] as const).find((f) => issue.path === f || issue.path.startsWith(`${f}.`));
    if (field) out[field] = out[field] ? `${out[field]}; ${issue.reason}` : issue.reason;
  }
  const field = CODE_FIELD[err.code];
  if (field && !out[field]) out[field] = `${err.message}${err.message.endsWith('.') ? '' : '.'}`;
  if (Object.keys(out).length === 0) out.form = describeError(err);
  return out;
}

/**
 * Why the browser refused to submit a field (its constraint validation), in words: the
 * browser's own bubble is easy to miss and absent in some windows.
 */
export function constraintMessage(label: string, validity: Pick<ValidityState, 'valueMissing' | 'tooShort' | 'tooLong' | 'patternMismatch'>, opts: { minLength?: number; length?: number } = {}): string {
  if (validity.valueMissing) return `${label} is required.`;
  if (validity.tooShort) return `${label} must be at least ${opts.minLength} characters${opts.length !== undefined ? ` (it has ${opts.length})` : ''}.`;
  if (validity.tooLong) return `${label} is too long.`;
  if (validity.patternMismatch) return `${label} has characters that are not allowed.`;
  return `${label} is not valid.`;
}
