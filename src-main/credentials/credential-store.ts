// Refresh tokens of attach profiles in the OS keychain (macOS Keychain, Windows Credential
// Manager, the Secret Service on Linux) through @napi-rs/keyring, one entry per profile:
// service `io.opmas.console`, account = profile id. Nothing is written to disk by the app.
import type { AsyncEntry, EntryOptions } from '@napi-rs/keyring';
import { errors } from '../errors.js';

export const CREDENTIAL_SERVICE = 'io.opmas.console';

export interface CredentialStore {
  get(profileId: string): Promise<string | null>;
  set(profileId: string, refreshToken: string): Promise<void>;
  /** Resolves whether there was a token to delete. */
  delete(profileId: string): Promise<boolean>;
}

export interface CredentialStoreOptions {
  /** @napi-rs/keyring's AsyncEntry class (keychain calls off the main thread). */
  AsyncEntry: typeof AsyncEntry;
  service?: string;
  /**
   * Keychain selection. On Linux the default uses the Secret Service and falls back to the
   * kernel keyring (memory only, gone at logout); tests pin the Secret Service.
   */
  entryOptions?: EntryOptions;
}

export function createCredentialStore(opts: CredentialStoreOptions): CredentialStore {
  const service = opts.service ?? CREDENTIAL_SERVICE;
  const entry = (profileId: string) => {
    if (!profileId) throw errors.invalidInput('A credential needs a profile id');
    return new opts.AsyncEntry(service, profileId, opts.entryOptions);
  };
  // The keychain's messages name the backend and the failure, never the secret.
  const unavailable = (err: unknown) => errors.keychainUnavailable((err as Error)?.message ?? String(err));
  return {
    async get(profileId) {
      try {
        return await entry(profileId).getPassword();
      } catch (err) {
        throw unavailable(err);
      }
    },
    async set(profileId, refreshToken) {
      if (!refreshToken) throw errors.invalidInput('Refusing to store an empty token');
      try {
        await entry(profileId).setPassword(refreshToken);
      } catch (err) {
        throw unavailable(err);
      }
    },
    async delete(profileId) {
      try {
        return await entry(profileId).deleteCredential();
      } catch (err) {
        throw unavailable(err);
      }
    },
  };
}

/** One profile's slot in the keychain, as a session's refresh-token store. */
export function profileTokenStore(store: CredentialStore, profileId: string) {
  return {
    get: () => store.get(profileId),
    set: (token: string) => store.set(profileId, token),
    delete: () => store.delete(profileId),
  };
}
