// The notification channels the AMS knows: the built-in desktop channel, those from the
// environment, and those managed with GET/PUT /notification-channels, plus the routing
// settings. Decides how a PUT treats secrets (kept when omitted or sent back masked).
import type { Database } from '../db/database.js';
import { alertSettingsRepo, type ChannelInput, type ChannelRow, notificationChannelsRepo } from '../db/notification-channels.repo.js';
import { type FieldIssue, ValidationFailed } from '../errors.js';
import {
  type Channel,
  DEFAULT_DELIVERY,
  DESKTOP_CHANNEL,
  type EmailSettings,
  MASK,
  maskUrl,
  presentChannel,
  type Routing,
  type SecretBox,
  type WebhookSettings,
} from './channels.js';
import type { Severity } from './rules.js';

/** One channel in a PUT body, as the API schema parsed it. */
export interface ChannelPut {
  name: string;
  type: 'webhook' | 'email' | 'desktop';
  enabled?: boolean;
  min_severity?: Severity | null;
  /** Echoed from GET; entries from the environment or built in are read-only and skipped. */
  source?: 'database' | 'environment' | 'builtin';
  read_only?: boolean;
  settings?: Record<string, unknown>;
}

export interface ChannelsPut {
  channels: ChannelPut[];
  routing?: Partial<Routing>;
}

export interface ChannelsView {
  channels: Array<Record<string, unknown>>;
  routing: Routing & { source: 'database' | 'environment' };
}

const CACHE_MS = 5000;

export type ChannelService = ReturnType<typeof createChannelService>;

export function createChannelService(deps: { db: Database; box: SecretBox; environment: { channels: Channel[]; routing: Routing } }) {
  const fixed: Channel[] = [DESKTOP_CHANNEL, ...deps.environment.channels];
  const reserved = new Map(fixed.map((c) => [c.name, c]));
  let cache: { at: number; channels: Channel[]; routing: Routing; routingSource: 'database' | 'environment'; undecryptable: Set<string> } | undefined;

  function fromRow(row: ChannelRow, undecryptable: Set<string>): Channel | undefined {
    const stamp = {
      name: row.name,
      enabled: row.enabled,
      min_severity: (row.min_severity as Severity | null) ?? null,
      source: 'database' as const,
      updated_at: row.updated_at.toISOString(),
      updated_by: row.updated_by,
    };
    const secrets = row.secrets ? deps.box.open<Record<string, unknown>>(row.secrets) : {};
    if (row.secrets && !secrets) undecryptable.add(row.name);
    if (row.type === 'webhook') return { ...stamp, type: 'webhook', settings: { ...DEFAULT_DELIVERY, ...(row.settings as Partial<WebhookSettings>) }, secrets: { url: String(secrets?.url ?? '') } };
    if (row.type === 'email') {
      return { ...stamp, type: 'email', settings: { ...DEFAULT_DELIVERY, ...(row.settings as unknown as EmailSettings) }, secrets: { password: (secrets?.password as string | null) ?? null } };
    }
    return undefined;
  }

  async function load() {
    if (cache && Date.now() - cache.at < CACHE_MS) return cache;
    const undecryptable = new Set<string>();
    const rows = await notificationChannelsRepo(deps.db.knex).all();
    const stored = rows.map((r) => fromRow(r, undecryptable)).filter((c): c is Channel => c !== undefined);
    const routingStored = await alertSettingsRepo(deps.db.knex).get<Routing>('routing');
    cache = {
      at: Date.now(),
      channels: [...fixed, ...stored],
      routing: { ...deps.environment.routing, ...routingStored },
      routingSource: routingStored ? 'database' : 'environment',
      undecryptable,
    };
    return cache;
  }

  async function view(): Promise<ChannelsView> {
    const c = await load();
    return { channels: c.channels.map(presentChannel), routing: { ...c.routing, source: c.routingSource } };
  }

  return {
    /** Every channel with its secrets, for sending (never for answering). */
    async channels(): Promise<Channel[]> {
      return (await load()).channels;
    },
    /** Channels whose stored secret could not be decrypted (OPMAS_JWT_SECRET changed): they must be set again. */
    async undecryptable(): Promise<Set<string>> {
      return (await load()).undecryptable;
    },
    async routing(): Promise<Routing> {
      return (await load()).routing;
    },
    view,

    /** Replaces the managed channels (and the routing, when given); answers the new view and a masked before/after for the audit. */
    async replace(input: ChannelsPut, by: string): Promise<{ view: ChannelsView; before: ChannelsView }> {
      const before = await view();
      const current = new Map((await load()).channels.filter((c) => c.source === 'database').map((c) => [c.name, c]));
      const issues: FieldIssue[] = [];
      const rows: ChannelInput[] = [];
      const seen = new Set<string>();
      input.channels.forEach((entry, i) => {
        const at = (field: string) => `channels.${i}.${field}`;
        if (seen.has(entry.name)) issues.push({ path: at('name'), reason: `${JSON.stringify(entry.name)} is named twice`, in: 'body' });
        seen.add(entry.name);
        const fixedChannel = reserved.get(entry.name);
        if (fixedChannel) {
          if (entry.source !== undefined && entry.source !== 'database' && entry.source === fixedChannel.source) return;
          issues.push({ path: at('name'), reason: `${JSON.stringify(entry.name)} is the ${fixedChannel.source === 'builtin' ? 'built-in' : 'environment'} channel and cannot be changed here`, in: 'body' });
          return;
        }
        if (entry.source && entry.source !== 'database') {
          issues.push({ path: at('source'), reason: `there is no ${entry.source} channel named ${JSON.stringify(entry.name)}`, in: 'body' });
          return;
        }
        const previous = current.get(entry.name);
        const settings = { ...(entry.settings ?? {}) };
        const common = { name: entry.name, type: entry.type, enabled: entry.enabled ?? true, min_severity: entry.min_severity ?? null };
        if (entry.type === 'webhook') {
          const { url, ...rest } = settings as { url?: string };
          let secretUrl: string | undefined;
          if (url === undefined || url.includes(MASK)) {
            if (previous?.type === 'webhook' && (url === undefined || url === maskUrl(previous.secrets.url))) secretUrl = previous.secrets.url;
            else issues.push({ path: at('settings.url'), reason: url === undefined ? 'is required' : 'is masked: send the full URL (or exactly the masked value GET answered, to keep it)', in: 'body' });
          } else {
            secretUrl = url;
          }
          if (secretUrl !== undefined) rows.push({ ...common, settings: rest, secrets: deps.box.seal({ url: secretUrl }) });
        } else if (entry.type === 'email') {
          const { password, ...rest } = settings as { password?: string | null };
          let secret: string | null;
          if (password === undefined || password === MASK) secret = previous?.type === 'email' ? previous.secrets.password : null;
          else secret = password;
          const r = rest as { port?: number; secure?: boolean; user?: string | null };
          const normalized = { ...rest, secure: r.secure ?? false, user: r.user ?? null, port: r.port ?? (r.secure ? 465 : 587) };
          rows.push({ ...common, settings: normalized, secrets: deps.box.seal({ password: secret }) });
        } else {
          issues.push({ path: at('type'), reason: 'desktop is the built-in channel "desktop"; it needs no configuration', in: 'body' });
        }
      });
      const names = new Set([...reserved.keys(), ...rows.map((r) => r.name)]);
      for (const field of ['channels', 'escalation_channels'] as const) {
        (input.routing?.[field] ?? []).forEach((name, i) => {
          if (!names.has(name)) issues.push({ path: `routing.${field}.${i}`, reason: `there is no channel named ${JSON.stringify(name)}`, in: 'body' });
        });
      }
      if (issues.length > 0) throw new ValidationFailed(issues);
      await deps.db.knex.transaction(async (trx) => {
        const now = new Date();
        await notificationChannelsRepo(trx).replaceAll(rows, by, now);
        if (input.routing) {
          const stored = (await alertSettingsRepo(trx).get<Partial<Routing>>('routing')) ?? {};
          const { source: _echoed, ...routing } = input.routing as Partial<Routing> & { source?: string };
          await alertSettingsRepo(trx).put('routing', { ...stored, ...routing }, by);
        }
      });
      cache = undefined;
      return { view: await view(), before };
    },
  };
}
