// What should run on this host, as the control plane says: the agent specs of the host, from a
// full sync (at start, after every reconnect and every reconcile_interval) and from the pushes
// the control plane sends after each change. The last full sync is kept on disk, so that a
// supervisor started while the database or the control plane is away still knows what should
// run (a cached copy is never trusted to delete anything). Also the record of which operator
// intents this host has already acted on, kept on disk so a restart does not act twice.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { AgentSpec, ErrorReply, SpecPush, SyncReply, type SyncReply as SyncReplyType } from '../broker/host-protocol.js';
import { subjects } from '../broker/subjects.js';
import type { BrokerConnection } from '../broker/connection.js';
import { writeSecretFile } from '../broker/key-store.js';

export interface Handled {
  restart: number;
  recover: number;
  /** ISO time of the last operator intent acted on. */
  intent_at: string | null;
}

export interface DesiredStateDeps {
  hostId: string;
  dir: string;
  connection: BrokerConnection;
  logger: Logger;
  epoch: () => number;
  /** Some specs changed (`full`: a complete sync, agents absent from it are gone). */
  onChange(agentIds: string[], full: boolean): void;
  syncTimeoutMs?: number;
}

export type DesiredState = ReturnType<typeof createDesiredState>;

export function createDesiredState(deps: DesiredStateDeps) {
  const { logger } = deps;
  const host = subjects.host(deps.hostId);
  const cacheFile = path.join(deps.dir, 'desired-state.json');
  const handledFile = path.join(deps.dir, 'handled-intents.json');
  let specs = new Map<string, AgentSpec>();
  let settings: SyncReplyType['settings'] = { metrics_interval: null, reconcile_interval: null };
  /** True once a full sync from the control plane has been received in this run. */
  let authoritative = false;
  let lastSyncAt: number | null = null;
  let syncing: Promise<boolean> | undefined;
  let handled: Record<string, Handled> = Object.create(null);
  /** The package folder an agent had before its package went away (for the cause of its stop). */
  const formerPath = new Map<string, string>();
  const remember = (next: AgentSpec) => {
    const prev = specs.get(next.agent_id);
    if (prev?.package_path && !next.package_path) formerPath.set(next.agent_id, prev.package_path);
    else if (next.package_path) formerPath.delete(next.agent_id);
  };
  let unsubscribe: (() => void) | undefined;

  fs.mkdirSync(deps.dir, { recursive: true, mode: 0o700 });
  try {
    const raw = JSON.parse(fs.readFileSync(handledFile, 'utf8')) as Record<string, Handled>;
    for (const [k, v] of Object.entries(raw)) if (v && typeof v === 'object') handled[k] = v;
  } catch {
    handled = Object.create(null);
  }

  const saveHandled = () => writeSecretFile(handledFile, JSON.stringify(handled));

  function saveCache(): void {
    try {
      writeSecretFile(cacheFile, JSON.stringify({ saved_at: new Date().toISOString(), settings, agents: [...specs.values()] }));
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'could not keep the desired state on disk');
    }
  }

  /** One full sync, page by page; false when the control plane did not answer. */
  async function syncOnce(): Promise<boolean> {
    const next = new Map<string, AgentSpec>();
    let cursor: string | null = null;
    let replySettings = settings;
    do {
      let raw: unknown;
      try {
        raw = await deps.connection.request(host.sync, { epoch: deps.epoch(), cursor }, deps.syncTimeoutMs ?? 5000);
      } catch (err) {
        logger.debug({ err: (err as Error).message }, 'desired state sync not answered');
        return false;
      }
      const refused = ErrorReply.safeParse(raw);
      if (refused.success) {
        logger.warn({ code: refused.data.error.code, reason: refused.data.error.message }, 'the control plane refused the desired state sync');
        return false;
      }
      const reply = SyncReply.safeParse(raw);
      if (!reply.success) {
        logger.warn({ issues: reply.error.issues.slice(0, 3) }, 'malformed desired state from the control plane');
        return false;
      }
      for (const a of reply.data.agents) next.set(a.agent_id, a);
      replySettings = reply.data.settings;
      cursor = reply.data.next_cursor;
    } while (cursor);
    const before = new Set(specs.keys());
    for (const a of next.values()) remember(a);
    specs = next;
    settings = replySettings;
    authoritative = true;
    lastSyncAt = Date.now();
    saveCache();
    deps.onChange([...new Set([...before, ...next.keys()])], true);
    return true;
  }

  const this_ = {
    /** Loads the desired state kept on disk (not authoritative: nothing is stopped because of it). */
    loadCache(): number {
      try {
        const cached = JSON.parse(fs.readFileSync(cacheFile, 'utf8')) as { settings?: SyncReplyType['settings']; agents?: unknown[] };
        for (const a of cached.agents ?? []) {
          const spec = AgentSpec.safeParse(a);
          if (spec.success) specs.set(spec.data.agent_id, spec.data);
        }
        if (cached.settings) settings = cached.settings;
      } catch {
        // none yet
      }
      return specs.size;
    },

    /** Full sync now (one at a time); false when the control plane did not answer. */
    sync(): Promise<boolean> {
      syncing ??= syncOnce().finally(() => (syncing = undefined));
      return syncing;
    },

    /** Takes pushes from the control plane (an agent changed, or resync). */
    listen(): void {
      unsubscribe ??= deps.connection.subscribe(host.specs, (msg) => {
        let push;
        try {
          push = SpecPush.safeParse(JSON.parse(new TextDecoder().decode(msg.data)));
        } catch {
          return;
        }
        if (!push.success) {
          logger.warn({ issues: push.error.issues.slice(0, 3) }, 'malformed spec push from the control plane');
          return;
        }
        const ids: string[] = [];
        for (const a of push.data.agents) {
          remember(a);
          specs.set(a.agent_id, a);
          ids.push(a.agent_id);
        }
        for (const id of push.data.removed) {
          specs.delete(id);
          ids.push(id);
        }
        saveCache();
        if (ids.length > 0) deps.onChange(ids, false);
        if (push.data.resync) void this_.sync();
      });
    },

    get: (agentId: string) => specs.get(agentId),
    formerPackagePath: (agentId: string) => formerPath.get(agentId),
    all: () => [...specs.values()],
    ids: () => [...specs.keys()],
    settings: () => settings,
    /** Whether the specs come from the control plane in this run (else from the disk cache, or none). */
    authoritative: () => authoritative,
    lastSyncAt: () => lastSyncAt,
    /** Updates one spec locally (a rollback the control plane answered). */
    replace(spec: AgentSpec): void {
      specs.set(spec.agent_id, spec);
      saveCache();
    },

    handled(agentId: string): Handled | undefined {
      return Object.hasOwn(handled, agentId) ? handled[agentId] : undefined;
    },
    setHandled(agentId: string, h: Handled): void {
      handled[agentId] = h;
      saveHandled();
    },
    forgetHandled(agentId: string): void {
      if (!Object.hasOwn(handled, agentId)) return;
      delete handled[agentId];
      saveHandled();
    },

    stop(): void {
      unsubscribe?.();
      unsubscribe = undefined;
    },
  };
  return this_;
}
