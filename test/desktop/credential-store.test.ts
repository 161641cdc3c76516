// Refresh tokens in a real OS keychain: gnome-keyring's Secret Service on a private D-Bus
// session (test/support/with-keyring.sh), never in a file in clear.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { AsyncEntry, Entry } from '@napi-rs/keyring';
import { describe, expect, it } from 'vitest';
import { createCredentialStore, CREDENTIAL_SERVICE } from '../../src-main/credentials/credential-store.js';
import { filesContaining, REPO_ROOT } from './helpers.js';
import { assertPrivateKeyring } from './keyring-env.js';

const home = assertPrivateKeyring();
const secretService = { linux: { store: 'secret-service' as const } };

describe('credential store', () => {
  it('keeps one refresh token per profile in the Secret Service and deletes it', async () => {
    const store = createCredentialStore({ AsyncEntry, entryOptions: secretService });
    const a = `rt-a-${randomBytes(16).toString('hex')}`;
    const b = `rt-b-${randomBytes(16).toString('hex')}`;
    expect(await store.get('profile-a')).toBeNull();
    await store.set('profile-a', a);
    await store.set('profile-b', b);
    expect(await store.get('profile-a')).toBe(a);
    expect(await store.get('profile-b')).toBe(b);

    // Another client of the keychain sees the entry under the console's service name.
    expect(new Entry(CREDENTIAL_SERVICE, 'profile-a', secretService).getPassword()).toBe(a);

    // Rotation replaces the token.
    const rotated = `rt-a2-${randomBytes(16).toString('hex')}`;
    await store.set('profile-a', rotated);
    expect(await store.get('profile-a')).toBe(rotated);

    // The keyring files exist but hold nothing in clear.
    expect(execFileSync('find', [home, '-name', '*.keyring'], { encoding: 'utf8' })).toMatch(/login\.keyring/);
    expect(filesContaining(home, rotated)).toEqual([]);
    expect(filesContaining(home, b)).toEqual([]);

    expect(await store.delete('profile-a')).toBe(true);
    expect(await store.delete('profile-a')).toBe(false);
    expect(await store.get('profile-a')).toBeNull();
    expect(await store.get('profile-b')).toBe(b);
    await store.delete('profile-b');
  });

  it('reports an unusable keychain as keychain_unavailable, without the token', () => {
    // A process whose session bus is gone: the Secret Service cannot be reached.
    const script = `
      import { AsyncEntry } from '@napi-rs/keyring';
      import { createCredentialStore } from './src-main/credentials/credential-store.ts';
      const store = createCredentialStore({ AsyncEntry, entryOptions: { linux: { store: 'secret-service' } } });
      const err = await store.set('profile-x', 'very-secret-token').catch((e) => e);
      console.log(JSON.stringify({ name: err?.name, code: err?.code, message: err?.message }));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: REPO_ROOT,
      env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' },
      encoding: 'utf8',
    });
    const err = JSON.parse(out.trim().split('\n').at(-1)!);
    expect(err).toMatchObject({ name: 'ConsoleError', code: 'keychain_unavailable', message: expect.stringMatching(/^The OS keychain cannot be used: /) });
    expect(err.message).not.toContain('very-secret-token');
  });
});
