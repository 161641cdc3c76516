// Connection profiles on disk: several profiles, the last one used, atomic writes, first run.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createProfileStore, normalizeAmsUrl, PROFILES_FILE, selectStartup } from '../../src-main/profiles/profile-store.js';
import { ConsoleError } from '../../src-main/errors.js';
import { removeTempDirs, tempDir } from './helpers.js';

afterAll(removeTempDirs);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof ConsoleError ? err.code : `not a ConsoleError: ${err}`;
  }
  return undefined;
}

describe('profile store', () => {
  it('starts on the first-run screen, then remembers several profiles and the last one used across restarts', () => {
    const dir = tempDir();
    const store = createProfileStore({ dir });
    expect(store.list()).toEqual({ profiles: [], lastUsedId: null });
    expect(selectStartup(store.list())).toEqual({ kind: 'first-run' });
    expect(fs.existsSync(path.join(dir, PROFILES_FILE))).toBe(false);

    const host = store.create({ name: ' This machine ', mode: 'host' });
    const prod = store.create({ name: 'Production', mode: 'attach', url: 'https://ams.example.com/', username: 'ops' });
    const lab = store.create({ name: 'Lab', mode: 'attach', url: 'http://10.0.0.5:8470' });
    expect(host).toEqual({ id: expect.any(String), name: 'This machine', mode: 'host' });
    expect(prod).toMatchObject({ mode: 'attach', url: 'https://ams.example.com', username: 'ops' });
    expect(new Set([host.id, prod.id, lab.id]).size).toBe(3);
    // Profiles exist but none was used yet: the chooser, not the first-run screen.
    expect(selectStartup(store.list()).kind).toBe('choose');

    store.setLastUsed(prod.id);
    const reopened = createProfileStore({ dir });
    expect(reopened.list().profiles.map((p) => p.name)).toEqual(['This machine', 'Production', 'Lab']);
    expect(selectStartup(reopened.list())).toEqual({ kind: 'open', profile: prod });

    reopened.setLastUsed(lab.id);
    expect(selectStartup(createProfileStore({ dir }).list())).toEqual({ kind: 'open', profile: lab });
  });

  it('updates and removes profiles; removing the last-used one forgets it', () => {
    const store = createProfileStore({ dir: tempDir() });
    const a = store.create({ name: 'A', mode: 'attach', url: 'http://a.example:8470', username: 'alice' });
    const b = store.create({ name: 'B', mode: 'attach', url: 'http://b.example:8470' });
    store.setLastUsed(a.id);
    expect(store.update(a.id, { name: 'A2', url: 'https://a2.example/ams/', username: '' })).toEqual({ id: a.id, name: 'A2', mode: 'attach', url: 'https://a2.example/ams' });
    expect(store.remove(a.id)).toEqual({ profiles: [b], lastUsedId: null });
    expect(codeOf(() => store.get(a.id))).toBe('profile_not_found');
    expect(codeOf(() => store.setLastUsed(a.id))).toBe('profile_not_found');
  });

  it('refuses profiles that make no sense', () => {
    const store = createProfileStore({ dir: tempDir() });
    expect(codeOf(() => store.create({ name: 'No URL', mode: 'attach' }))).toBe('invalid_input');
    expect(codeOf(() => store.create({ name: 'Files', mode: 'attach', url: 'file:///etc/passwd' }))).toBe('invalid_input');
    expect(codeOf(() => store.create({ name: 'Creds', mode: 'attach', url: 'https://u:p@ams.example' }))).toBe('invalid_input');
    expect(codeOf(() => store.create({ name: '  ', mode: 'attach', url: 'https://ams.example' }))).toBe('invalid_input');
    expect(codeOf(() => store.create({ name: 'Host with URL', mode: 'host', url: 'http://x' }))).toBe('invalid_input');
    const host = store.create({ name: 'Here', mode: 'host' });
    expect(codeOf(() => store.create({ name: 'Second host', mode: 'host' }))).toBe('host_profile_exists');
    expect(codeOf(() => store.update(host.id, { url: 'http://x.example' }))).toBe('invalid_input');
    expect(store.list().profiles).toHaveLength(1);
  });

  it('writes atomically with owner-only permissions and no temp files left behind', () => {
    const dir = tempDir();
    const store = createProfileStore({ dir });
    for (let i = 0; i < 20; i++) store.create({ name: `P${i}`, mode: 'attach', url: `http://h${i}.example` });
    expect(fs.readdirSync(dir)).toEqual([PROFILES_FILE]);
    const mode = fs.statSync(path.join(dir, PROFILES_FILE)).mode & 0o777;
    expect(mode).toBe(0o600);
    const onDisk = JSON.parse(fs.readFileSync(path.join(dir, PROFILES_FILE), 'utf8'));
    expect(onDisk.version).toBe(1);
    expect(onDisk.profiles).toHaveLength(20);
  });

  it('moves an unreadable file aside and starts fresh instead of crashing', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, PROFILES_FILE), '{"version":1,"profiles":[{"id":');
    const seen: string[] = [];
    const store = createProfileStore({ dir, onCorruptFile: (i) => seen.push(i.movedTo) });
    expect(store.list()).toEqual({ profiles: [], lastUsedId: null });
    expect(seen).toHaveLength(1);
    expect(fs.readFileSync(seen[0], 'utf8')).toBe('{"version":1,"profiles":[{"id":');
    store.create({ name: 'Fresh', mode: 'host' });
    expect(createProfileStore({ dir }).list().profiles.map((p) => p.name)).toEqual(['Fresh']);
  });
});

describe('normalizeAmsUrl', () => {
  it('keeps scheme, host, port and path prefix, drops trailing slashes', () => {
    expect(normalizeAmsUrl('http://127.0.0.1:8470/')).toBe('http://127.0.0.1:8470');
    expect(normalizeAmsUrl(' https://ops.example.com/opmas/ ')).toBe('https://ops.example.com/opmas');
    expect(normalizeAmsUrl('HTTPS://AMS.EXAMPLE')).toBe('https://ams.example');
    expect(() => normalizeAmsUrl('ams.example')).toThrow(/not a URL/);
    expect(() => normalizeAmsUrl('https://ams.example/?x=1')).toThrow(/query or fragment/);
  });
});
