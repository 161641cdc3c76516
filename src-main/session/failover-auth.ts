// The auth API of an attach profile with several AMS URLs: each call goes to the URL in use and,
// where that one does not answer, fails over to the next (tokens are valid on every replica: the
// API is stateless). A refresh is sent again elsewhere only when it surely never arrived, since a
// refresh token works once.
import { type Endpoints, withFailover } from '../connection/endpoints.js';
import { AuthError, type AuthClient } from './auth-client.js';

const unreachable = (err: unknown) => (err instanceof AuthError ? err.unreachable : null);

/** When no URL answered: one error naming each. */
function giveUp(last: unknown, failures: string[]): unknown {
  if (!(last instanceof AuthError)) return last;
  return new AuthError(last.code, `No AMS URL of this profile answered: ${failures.join('; ')}`, last.status, last.retryAfterMs, last.unreachable);
}

export function createFailoverAuthClient(endpoints: Endpoints, clientFor: (baseUrl: string) => AuthClient): AuthClient {
  const call = <T>(resend: boolean, fn: (c: AuthClient) => Promise<T>) => withFailover(endpoints, { attempt: (url) => fn(clientFor(url)), unreachable, resend, giveUp });
  return {
    login: (username, password) => call(true, (c) => c.login(username, password)),
    refresh: (refreshToken) => call(false, (c) => c.refresh(refreshToken)),
    logout: (refreshToken, accessToken) => call(true, (c) => c.logout(refreshToken, accessToken)),
    hostSession: (secret) => call(false, (c) => c.hostSession(secret)),
    me: (accessToken) => call(true, (c) => c.me(accessToken)),
  };
}
