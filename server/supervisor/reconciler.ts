// Reconciliation (STYLE.md #11): for each agent of this host, what should be (its spec: desired
// state, held, disabled, package, operator intents, config version) against what is (the
// process this supervisor runs), and the action that closes the gap. Level-triggered: it runs
// after every sync and push and on a timer, so a missed event is healed by the next pass. A
// crash is not its business: the recovery engine restarts a failed agent with its backoff.
import type { AgentSpec } from '../broker/host-protocol.js';
import type { Cause, SupervisorContext } from './context.js';
import type { Launcher } from './launcher.js';
import type { RecoveryEngine } from './recovery-engine.js';

export interface ReconcilerHooks {
  /** Everything of an agent this host no longer has is dropped (after its process stopped). */
  forget(agentId: string): void;
  applyConfig(agentId: string): Promise<unknown>;
  /** An operator asked for a recovery: a manual episode. */
  recover(agentId: string, requestedBy: Record<string, unknown>): Promise<void>;
  /** Agents whose recovery is spent: not started again until an intent, config or package change lifts it. */
  held: Map<string, { configVersion: number; packagePath: string | null }>;
}

export type Reconciler = ReturnType<typeof createReconciler>;

export function createReconciler(ctx: SupervisorContext, launcher: Launcher, engine: RecoveryEngine, hooks: ReconcilerHooks) {
  const { specs, status, pm, logger } = ctx;

  function causeOf(spec: AgentSpec, fresh: boolean, fallback: Cause): Cause {
    if (fresh && spec.intent && spec.intent.action !== 'recover') {
      return { cause: 'operator', action: spec.intent.action, actor: spec.intent.actor, correlation_id: spec.intent.correlation_id };
    }
    return fallback;
  }

  async function reconcileAgent(agentId: string): Promise<void> {
    if (ctx.shuttingDown()) return;
    const spec = specs.get(agentId);
    const proc = pm.get(agentId);
    if (!spec) {
      if (!specs.authoritative()) return;
      // The agent is gone from this host (deleted, or its package moved away).
      engine.cancel(agentId, 'the agent was removed');
      const row = await status.get(agentId);
      if (row && (proc || row.process_status === 'running' || row.process_status === 'degraded')) {
        await launcher.stopProcess(agentId, { cause: 'agent_removed' }).catch((err) => logger.warn({ agentId, err: (err as Error).message }, 'stopping a removed agent failed'));
      } else if (proc) {
        await pm.stop(proc, { graceMs: 0, timeoutMs: 5000 });
      }
      hooks.forget(agentId);
      return;
    }
    const row = status.seed(spec);
    const done = specs.handled(agentId);
    if (!done) {
      // First sight in this data dir: what was asked before is history, not an order.
      specs.setHandled(agentId, { restart: spec.restart_generation, recover: spec.recover_generation, intent_at: spec.intent?.at ?? null });
    }
    const handled = specs.handled(agentId)!;
    const freshIntent = Boolean(done && spec.intent && (!handled.intent_at || spec.intent.at > handled.intent_at));
    const markHandled = (extra: Partial<typeof handled> = {}) =>
      specs.setHandled(agentId, { ...handled, intent_at: spec.intent?.at ?? handled.intent_at, ...extra });

    const wanted = spec.desired_state === 'running' && !spec.disabled && spec.package_path !== null;
    if (!wanted) {
      engine.cancel(agentId, spec.disabled ? 'the agent was disabled' : spec.package_path === null ? 'its package was removed' : 'the operator asked to stop the agent');
      const live = proc || row.process_status === 'running' || row.process_status === 'degraded' || row.process_status === 'stopping';
      if (live) {
        const former = specs.formerPackagePath(agentId);
        const base: Cause = spec.disabled ? { cause: 'agent_disabled' } : spec.package_path === null ? { cause: 'package_removed', ...(former ? { path: former } : {}) } : { cause: 'desired_state' };
        await launcher.stopProcess(agentId, causeOf(spec, freshIntent, base));
      }
      markHandled();
      return;
    }

    const hold = hooks.held.get(agentId);
    if (hold) {
      const lifted = freshIntent || spec.recover_generation > handled.recover || hold.configVersion !== spec.config_version || hold.packagePath !== spec.package_path || (!spec.held && done && spec.restart_generation > handled.restart);
      if (!lifted) return;
      hooks.held.delete(agentId);
    } else if (spec.held && !freshIntent && spec.recover_generation <= handled.recover) {
      return;
    }

    if (spec.recover_generation > handled.recover) {
      markHandled({ recover: spec.recover_generation });
      await hooks.recover(agentId, { actor: spec.intent?.actor ?? 'operator', correlation_id: spec.intent?.correlation_id ?? null });
      return;
    }
    if (spec.restart_generation > handled.restart) {
      markHandled({ restart: spec.restart_generation });
      engine.cancel(agentId, 'the operator asked to restart the agent');
      const cause = causeOf(spec, true, { cause: 'desired_state' });
      const current = await status.get(agentId);
      if (pm.get(agentId) || current?.process_status === 'running' || current?.process_status === 'degraded') await launcher.stopProcess(agentId, cause);
      await launcher.startProcess(agentId, cause);
      return;
    }
    if (!proc) {
      const state = engine.state(agentId, spec.policy);
      if (state.in_progress && !freshIntent) return;
      if (row.process_status === 'failed' && !freshIntent) return; // the recovery engine's, or held by policy
      if (freshIntent) engine.cancel(agentId, `the operator asked to ${spec.intent!.action} the agent`);
      if (row.process_status === 'stopping') await launcher.stopProcess(agentId, { cause: 'desired_state' });
      const cause = causeOf(spec, freshIntent, { cause: spec.config.autostart === true ? 'autostart' : 'desired_state' });
      markHandled();
      await launcher.startProcess(agentId, cause);
      return;
    }
    markHandled();
    if (row.config_version !== spec.config_version) await hooks.applyConfig(agentId);
  }

  return {
    reconcileAgent,
    /** Queues a pass for each agent (the agent's queue keeps it in line with its other operations). */
    reconcile(agentIds: string[]): Promise<void> {
      return Promise.all(
        agentIds.map((id) =>
          ctx.queue.run(id, () => reconcileAgent(id)).catch((err) => logger.warn({ agentId: id, err: (err as Error).message, code: (err as { code?: string }).code }, 'reconciling the agent failed')),
        ),
      ).then(() => undefined);
    },
  };
}
