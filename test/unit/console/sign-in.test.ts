// The sign-in and first-run forms' error placement, and the stderr lines an exit row carries.
import { describe, expect, it } from 'vitest';
import { constraintMessage, signInErrors } from '../../../src-renderer/src/features/connect/sign-in-errors';
import { stderrTailOf } from '../../../src-renderer/src/features/timeline/timeline';
import { ApiError, NetworkError } from '../../../src-renderer/src/api/errors';

const valid = { valueMissing: false, tooShort: false, tooLong: false, patternMismatch: false };

describe('signInErrors', () => {
  it("puts the AMS's 400 details by their fields", () => {
    const err = new ApiError(400, 'validation_failed', 'Invalid request', [
      { path: 'password', reason: 'must be at least 10 characters', in: 'body' },
      { path: 'username', reason: 'must be 1-64 letters, digits, ., _, @ or -', in: 'body' },
    ]);
    expect(signInErrors(err)).toEqual({ password: 'must be at least 10 characters', username: 'must be 1-64 letters, digits, ., _, @ or -' });
  });

  it('puts a wrong setup token by the token and wrong credentials by the password; anything else under the form', () => {
    expect(signInErrors(new ApiError(401, 'invalid_setup_token', 'The setup token is not valid'))).toEqual({ token: 'The setup token is not valid.' });
    expect(signInErrors(new ApiError(401, 'invalid_credentials', 'Unknown username or wrong password'))).toEqual({ password: 'Unknown username or wrong password.' });
    expect(signInErrors(new ApiError(429, 'rate_limited', 'Too many requests'))).toEqual({ form: 'Too many requests.' });
    expect(signInErrors(new NetworkError('POST /api/v1/auth/login')).form).toMatch(/did not answer/);
  });
});

describe('constraintMessage', () => {
  it('says why the browser blocked a submit', () => {
    expect(constraintMessage('The setup token', { ...valid, valueMissing: true })).toBe('The setup token is required.');
    expect(constraintMessage('The password', { ...valid, tooShort: true }, { minLength: 10, length: 4 })).toBe('The password must be at least 10 characters (it has 4).');
    expect(constraintMessage('The user name', valid)).toBe('The user name is not valid.');
  });
});

describe('stderrTailOf', () => {
  it('reads the string lines of an exit record, and nothing from other rows', () => {
    expect(stderrTailOf({ exit_code: 1, stderr_tail: ['Error: boom', 42, 'at x'] })).toEqual(['Error: boom', 'at x']);
    expect(stderrTailOf({ exit_code: 1 })).toEqual([]);
    expect(stderrTailOf({ stderr_tail: 'not a list' })).toEqual([]);
    expect(stderrTailOf(null)).toEqual([]);
  });
});
