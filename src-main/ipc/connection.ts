// IPC group: connection info, access tokens, profiles and credentials (all go through the
// connection manager, which owns the active profile, the bundled AMS and the session).
import type { ConnectionManager } from '../connection/connection-manager.js';
import type { ProfileStore } from '../profiles/profile-store.js';
import * as ch from './channels.js';
import type { IpcRegistrar } from './registrar.js';
import { credentialProfileRequest, loginRequest, newProfileRequest, profileIdRequest, streamDownRequest, updateProfileRequest } from './schemas.js';

export interface ConnectionIpcDeps {
  registrar: IpcRegistrar;
  connection: ConnectionManager;
  profiles: ProfileStore;
}

export function registerConnectionIpc({ registrar, connection }: ConnectionIpcDeps): void {
  registrar.handle(ch.connectionInfo, null, () => connection.info());
  registrar.handle(ch.accessToken, null, () => connection.accessToken());
  // The renderer's word only makes the main process ask the URL in use; it moves only when that does not answer.
  registrar.handle(ch.streamDown, streamDownRequest, ({ url, attempts }) => connection.streamDown(url, attempts));
}

export function registerProfileIpc({ registrar, connection, profiles }: ConnectionIpcDeps): void {
  registrar.handle(ch.listProfiles, null, () => profiles.list());
  registrar.handle(ch.createProfile, newProfileRequest, (req) => profiles.create(req));
  registrar.handle(ch.updateProfile, updateProfileRequest, async ({ id, patch }) => {
    const updated = profiles.update(id, patch);
    // An edited active profile takes effect at once (new URL, new session).
    if (connection.info().profile?.id === id) await connection.activate(id);
    return updated;
  });
  registrar.handle(ch.removeProfile, profileIdRequest, ({ id }) => connection.removeProfile(id));
  registrar.handle(ch.switchProfile, profileIdRequest, ({ id }) => connection.activate(id));
}

export function registerCredentialIpc({ registrar, connection }: ConnectionIpcDeps): void {
  registrar.handle(ch.login, loginRequest, ({ username, password }) => connection.login(username, password));
  registrar.handle(ch.logout, null, () => connection.logout());
  registrar.handle(ch.hasCredential, credentialProfileRequest, ({ profileId }) => connection.hasCredential(profileId));
  registrar.handle(ch.forgetCredential, credentialProfileRequest, ({ profileId }) => connection.forgetCredential(profileId));
}
