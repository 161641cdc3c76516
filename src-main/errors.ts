// Errors the main process reports to the renderer as values: a stable code and a sentence.
// IPC handlers turn any ConsoleError into { ok: false, error: { code, message } }.

export class ConsoleError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConsoleError';
  }
}

export const errors = {
  invalidInput: (message: string) => new ConsoleError('invalid_input', message),
  profileNotFound: (id: string) => new ConsoleError('profile_not_found', `No profile with id ${id}`),
  noActiveProfile: () => new ConsoleError('no_active_profile', 'No connection profile is active; create or choose one first'),
  notAttachMode: () => new ConsoleError('not_attach_mode', 'The active profile hosts the bundled AMS; it signs in by itself'),
  hostProfileExists: () => new ConsoleError('host_profile_exists', 'There is already a profile that hosts the bundled AMS'),
  keychainUnavailable: (detail: string) => new ConsoleError('keychain_unavailable', `The OS keychain cannot be used: ${detail}`),
};
