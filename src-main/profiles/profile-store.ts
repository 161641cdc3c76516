// Connection profiles (host, or attach with one or several AMS URLs) and the last one used, in
// <userData>/profiles.json. Never holds a token or a password: attach credentials live in the OS keychain.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { NewProfile, Profile, ProfileList, ProfilePatch } from '../../src-preload/console-api.js';
import { errors } from '../errors.js';
import { readJson, writeJsonAtomic } from './json-file.js';

export const PROFILES_FILE = 'profiles.json';

interface ProfilesFile {
  version: 1;
  profiles: Profile[];
  lastUsedId: string | null;
}

export type StartupChoice = { kind: 'first-run' } | { kind: 'choose'; profiles: Profile[] } | { kind: 'open'; profile: Profile };

/** What the app opens with: the remembered profile, a chooser, or the first-run screen. */
export function selectStartup(list: ProfileList): StartupChoice {
  if (list.profiles.length === 0) return { kind: 'first-run' };
  const last = list.profiles.find((p) => p.id === list.lastUsedId);
  return last ? { kind: 'open', profile: last } : { kind: 'choose', profiles: list.profiles };
}

/** An AMS base URL: http(s), no credentials, query or fragment, no trailing slash. */
export function normalizeAmsUrl(input: string): string {
  let url: URL;
  try {
    url = new URL(input.trim());
  } catch {
    throw errors.invalidInput(`${JSON.stringify(input)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw errors.invalidInput('The AMS URL must start with http:// or https://');
  if (url.username || url.password) throw errors.invalidInput('The AMS URL must not carry a user name or password');
  if (url.search || url.hash) throw errors.invalidInput('The AMS URL must not have a query or fragment');
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** Most URLs one attach profile holds (replicas of one AMS cluster). */
export const MAX_AMS_URLS = 10;

/** Several AMS base URLs in order: each as normalizeAmsUrl makes it, none twice, 1 to MAX_AMS_URLS. */
export function normalizeAmsUrls(input: readonly string[]): string[] {
  if (input.length === 0) throw errors.invalidInput('An attach profile needs at least one AMS URL');
  if (input.length > MAX_AMS_URLS) throw errors.invalidInput(`An attach profile holds at most ${MAX_AMS_URLS} AMS URLs, got ${input.length}`);
  const out: string[] = [];
  for (const u of input) {
    const url = normalizeAmsUrl(u);
    if (out.includes(url)) throw errors.invalidInput(`The AMS URL ${url} is listed twice`);
    out.push(url);
  }
  return out;
}

/** An attach profile's AMS URLs in order (a profile of one URL has no `urls`, as profiles always had). */
export function profileUrls(profile: Pick<Profile, 'url' | 'urls'>): string[] {
  if (profile.urls && profile.urls.length > 0) return [...profile.urls];
  return profile.url ? [profile.url] : [];
}

/** The URL fields of an attach profile: `url` is the first (what older versions of the app read), `urls` all of them when more than one. */
function urlFields(urls: string[]): Pick<Profile, 'url' | 'urls'> {
  return urls.length > 1 ? { url: urls[0], urls } : { url: urls[0] };
}

/** The URLs a create or update names: `url` (one) or `urls` (several), not both; undefined when neither. */
function requestedUrls(input: { url?: string; urls?: string[] }): string[] | undefined {
  if (input.url !== undefined && input.urls !== undefined) throw errors.invalidInput('Give the AMS URL as url or as urls, not both');
  if (input.urls !== undefined) return normalizeAmsUrls(input.urls);
  return input.url !== undefined ? [normalizeAmsUrl(input.url)] : undefined;
}

export interface ProfileStore {
  list(): ProfileList;
  get(id: string): Profile;
  create(input: NewProfile): Profile;
  update(id: string, patch: ProfilePatch): Profile;
  /** Removes the profile; forgets it as last used. */
  remove(id: string): ProfileList;
  setLastUsed(id: string): void;
}

export interface ProfileStoreOptions {
  /** The app's userData dir. */
  dir: string;
  newId?: () => string;
  /** Told when an unreadable profiles file was moved aside. */
  onCorruptFile?: (info: { movedTo: string; reason: string }) => void;
}

export function createProfileStore(opts: ProfileStoreOptions): ProfileStore {
  const file = path.join(opts.dir, PROFILES_FILE);
  const newId = opts.newId ?? randomUUID;

  const load = (): ProfilesFile => {
    const read = readJson(file, isProfilesFile);
    if (read.kind === 'ok') {
      // `url` is always the first of `urls` (a file edited by hand may disagree).
      for (const p of read.value.profiles) if (p.mode === 'attach' && p.urls) Object.assign(p, urlFields(p.urls));
      return read.value;
    }
    if (read.kind === 'corrupt') opts.onCorruptFile?.({ movedTo: read.movedTo, reason: read.reason });
    return { version: 1, profiles: [], lastUsedId: null };
  };
  const save = (data: ProfilesFile) => writeJsonAtomic(file, data);
  const find = (data: ProfilesFile, id: string) => {
    const profile = data.profiles.find((p) => p.id === id);
    if (!profile) throw errors.profileNotFound(id);
    return profile;
  };
  const snapshot = (data: ProfilesFile): ProfileList => ({ profiles: data.profiles.map((p) => ({ ...p })), lastUsedId: data.lastUsedId });

  return {
    list: () => snapshot(load()),
    get: (id) => ({ ...find(load(), id) }),

    create(input) {
      const data = load();
      const name = cleanName(input.name);
      let profile: Profile;
      if (input.mode === 'host') {
        if (input.url !== undefined || input.urls !== undefined) throw errors.invalidInput('A host profile runs the bundled AMS and takes no URL');
        if (data.profiles.some((p) => p.mode === 'host')) throw errors.hostProfileExists();
        profile = { id: newId(), name, mode: 'host' };
      } else {
        const urls = requestedUrls(input);
        if (urls === undefined) throw errors.invalidInput('An attach profile needs the AMS URL');
        profile = { id: newId(), name, mode: 'attach', ...urlFields(urls), ...(input.username ? { username: input.username } : {}) };
      }
      data.profiles.push(profile);
      save(data);
      return { ...profile };
    },

    update(id, patch) {
      const data = load();
      const profile = find(data, id);
      if (patch.name !== undefined) profile.name = cleanName(patch.name);
      if (patch.url !== undefined || patch.urls !== undefined) {
        if (profile.mode === 'host') throw errors.invalidInput('A host profile runs the bundled AMS and takes no URL');
        delete profile.urls;
        Object.assign(profile, urlFields(requestedUrls(patch)!));
      }
      if (patch.username !== undefined) {
        if (profile.mode === 'host') throw errors.invalidInput('A host profile signs in by itself and takes no user name');
        if (patch.username) profile.username = patch.username;
        else delete profile.username;
      }
      save(data);
      return { ...profile };
    },

    remove(id) {
      const data = load();
      find(data, id);
      data.profiles = data.profiles.filter((p) => p.id !== id);
      if (data.lastUsedId === id) data.lastUsedId = null;
      save(data);
      return snapshot(data);
    },

    setLastUsed(id) {
      const data = load();
      find(data, id);
      if (data.lastUsedId === id) return;
      data.lastUsedId = id;
      save(data);
    },
  };
}

function cleanName(name: string): string {
  const trimmed = name.trim();
  if (!trimmed || trimmed.length > 100) throw errors.invalidInput('A profile name has 1 to 100 characters');
  return trimmed;
}

function isProfilesFile(value: unknown): value is ProfilesFile {
  const v = value as ProfilesFile;
  return (
    typeof v === 'object' &&
    v !== null &&
    v.version === 1 &&
    Array.isArray(v.profiles) &&
    v.profiles.every(
      (p) =>
        typeof p?.id === 'string' &&
        typeof p.name === 'string' &&
        (p.mode === 'host' || p.mode === 'attach') &&
        (p.urls === undefined || (Array.isArray(p.urls) && p.urls.length > 0 && p.urls.every((u) => typeof u === 'string'))),
    ) &&
    (v.lastUsedId === null || typeof v.lastUsedId === 'string')
  );
}
