// Connection profiles on disk: several profiles, the last one used, atomic writes, first run.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createProfileStore, normalizeAmsUrl, PROFILES_FILE, profileUrls, selectStartup } from '../../src-main/profiles/profile-store.js';
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

describe('attach profiles with several AMS URLs', () => {
  it('keeps them in order (url is the first, what older versions read), takes one URL as before, and reads a file written before', () => {
    const dir = tempDir();
    const store = createProfileStore({ dir });
    const cluster = store.create({ name: 'Cluster', mode: 'attach', urls: ['https://a.example/', ' https://b.example:8443 ', 'http://10.0.0.7:8470'] });
    expect(cluster).toEqual({ id: cluster.id, name: 'Cluster', mode: 'attach', url: 'https://a.example', urls: ['https://a.example', 'https://b.example:8443', 'http://10.0.0.7:8470'] });
    expect(profileUrls(cluster)).toEqual(['https://a.example', 'https://b.example:8443', 'http://10.0.0.7:8470']);
    const onDisk = JSON.parse(fs.readFileSync(path.join(dir, PROFILES_FILE), 'utf8')).profiles[0];
    expect(onDisk).toMatchObject({ url: 'https://a.example', urls: ['https://a.example', 'https://b.example:8443', 'http://10.0.0.7:8470'] });
    // A list of one is a single-URL profile, as profiles always were.
    expect(store.create({ name: 'One', mode: 'attach', urls: ['https://c.example'] })).toEqual({ id: expect.any(String), name: 'One', mode: 'attach', url: 'https://c.example' });
    // Replaced by one URL, by several, reordered.
    expect(store.update(cluster.id, { url: 'https://b.example:8443' })).toEqual({ id: cluster.id, name: 'Cluster', mode: 'attach', url: 'https://b.example:8443' });
    expect(store.update(cluster.id, { urls: ['http://10.0.0.7:8470', 'https://a.example'] })).toMatchObject({ url: 'http://10.0.0.7:8470', urls: ['http://10.0.0.7:8470', 'https://a.example'] });

    // A file an older version wrote (url only), and one edited by hand where url disagrees with urls.
    const old = tempDir();
    fs.writeFileSync(
      path.join(old, PROFILES_FILE),
      JSON.stringify({
        version: 1,
        profiles: [
          { id: 'p1', name: 'Old', mode: 'attach', url: 'https://old.example', username: 'ops' },
          { id: 'p2', name: 'Edited', mode: 'attach', url: 'https://stale.example', urls: ['https://x.example', 'https://y.example'] },
        ],
        lastUsedId: 'p1',
      }),
    );
    const reread = createProfileStore({ dir: old });
    expect(selectStartup(reread.list())).toEqual({ kind: 'open', profile: { id: 'p1', name: 'Old', mode: 'attach', url: 'https://old.example', username: 'ops' } });
    expect(profileUrls(reread.get('p1'))).toEqual(['https://old.example']);
    expect(reread.get('p2')).toMatchObject({ url: 'https://x.example', urls: ['https://x.example', 'https://y.example'] });
  });

  it('refuses lists that make no sense, saying why', () => {
    const store = createProfileStore({ dir: tempDir() });
    const message = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return `${(err as ConsoleError).code}: ${(err as Error).message}`;
      }
      return 'accepted';
    };
    expect(message(() => store.create({ name: 'None', mode: 'attach', urls: [] }))).toBe('invalid_input: An attach profile needs at least one AMS URL');
    expect(message(() => store.create({ name: 'Twice', mode: 'attach', urls: ['https://a.example', 'https://a.example/'] }))).toBe('invalid_input: The AMS URL https://a.example is listed twice');
    expect(message(() => store.create({ name: 'Both', mode: 'attach', url: 'https://a.example', urls: ['https://b.example'] }))).toBe('invalid_input: Give the AMS URL as url or as urls, not both');
    expect(message(() => store.create({ name: 'Many', mode: 'attach', urls: Array.from({ length: 11 }, (_, i) => `https://h${i}.example`) }))).toBe(
      'invalid_input: An attach profile holds at most 10 AMS URLs, got 11',
    );
    expect(message(() => store.create({ name: 'Bad one', mode: 'attach', urls: ['https://a.example', 'file:///etc/passwd'] }))).toMatch(/^invalid_input: The AMS URL must start with http/);
    expect(message(() => store.create({ name: 'Host', mode: 'host', urls: ['https://a.example'] }))).toMatch(/^invalid_input: A host profile/);
    expect(store.list().profiles).toEqual([]);
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
