// One agent: its header (identity, states, lifecycle buttons) and tabs for status, timeline
// with metrics, recovery, configuration, logs and credentials.
import { useEffect, useState } from 'react';
import type { Agent, LifecycleAction } from '../../api/types';
import { ApiError, describeError } from '../../api/errors';
import { useConsole, useConsoleStore } from '../../store/context';
import { Link, agentPath, type AgentTab } from '../../router';
import { Badge } from '../common/badges';
import { ConfirmDialog } from '../common/dialog';
import { label } from '../common/format';
import { Empty, ErrorState, Loading } from '../common/states';
import { CopyButton } from '../common/copy-button';
import { StatusPanel } from './status-panel';
import { CredentialsPanel } from './credentials-panel';
import { ActivityPanel } from '../timeline/activity-panel';
import { RecoveryPanel } from '../recovery/recovery-panel';
import { ConfigPanel } from '../config/config-panel';
import { LogsPanel } from '../logs/logs-panel';
import { allowedActions } from './agent-actions';
import { NEEDS_AMS, StaleNote, useAmsDown } from '../common/link';

const TABS: Array<{ tab: AgentTab; title: string }> = [
  { tab: 'overview', title: 'Status' },
  { tab: 'activity', title: 'Timeline & metrics' },
  { tab: 'recovery', title: 'Recovery' },
  { tab: 'config', title: 'Configuration' },
  { tab: 'logs', title: 'Logs' },
  { tab: 'credentials', title: 'Credentials' },
];

export function AgentView({ id, tab, at }: { id: string; tab: AgentTab; at: number | null }) {
  const { client, store } = useConsole();
  const agent = useConsoleStore((s) => s.fleet.agents.get(id));
  const fleetReady = useConsoleStore((s) => s.fleet.status === 'ready');
  const [fetchState, setFetchState] = useState<{ status: 'idle' | 'loading' | 'error'; error?: unknown }>({ status: 'idle' });

  // Opened directly (or the agent is new): fetch it rather than wait for the fleet list.
  const fetchAgent = () => {
    setFetchState({ status: 'loading' });
    client.agents
      .get(id)
      .then((a) => {
        store.getState().upsertAgents([a]);
        setFetchState({ status: 'idle' });
      })
      .catch((error) => setFetchState({ status: 'error', error }));
  };
  useEffect(() => {
    if (!store.getState().fleet.agents.has(id)) fetchAgent();
  }, [id]);

  if (!agent) {
    if (fetchState.status === 'error') {
      if (fetchState.error instanceof ApiError && fetchState.error.code === 'agent_not_found')
        return (
          <Empty title="No such agent" action={<Link to="/">Back to the fleet</Link>}>
            The AMS has no agent <code>{id}</code>. It may have been deleted.
          </Empty>
        );
      return <ErrorState what="load the agent" error={fetchState.error} retry={fetchAgent} />;
    }
    return <Loading what={fleetReady ? 'the agent' : 'the fleet'} />;
  }

  return (
    <section className="view agent" aria-labelledby="agent-title">
      <AgentHeader agent={agent} />
      <nav className="tabs" aria-label="Agent sections">
        {TABS.map((t) => (
          <Link key={t.tab} to={agentPath(id, t.tab)} className={`tab${t.tab === tab ? ' active' : ''}`} aria-current={t.tab === tab ? 'page' : undefined}>
            {t.title}
          </Link>
        ))}
      </nav>
      <div className="tab-body">
        {tab === 'overview' && <StatusPanel agent={agent} />}
        {tab === 'activity' && <ActivityPanel agent={agent} at={at} />}
        {tab === 'recovery' && <RecoveryPanel agent={agent} />}
        {tab === 'config' && <ConfigPanel agent={agent} />}
        {tab === 'logs' && <LogsPanel agent={agent} />}
        {tab === 'credentials' && <CredentialsPanel agent={agent} />}
      </div>
    </section>
  );
}

function AgentHeader({ agent }: { agent: Agent }) {
  const { client, store } = useConsole();
  const canControl = useConsoleStore((s) => s.can('agents:control'));
  const [pending, setPending] = useState<LifecycleAction | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async () => {
    if (!pending) return;
    setBusy(true);
    setError(null);
    try {
      store.getState().upsertAgents([await client.agents.control(agent.id, pending)]);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
      setPending(null);
    }
  };
  const allowed = allowedActions(agent);
  const down = useAmsDown();
  return (
    <header className="view-header agent-header">
      <div>
        <p className="breadcrumb">
          <Link to="/">Fleet</Link> / {agent.agent_type} <StaleNote />
        </p>
        <h1 id="agent-title">{agent.agent_name}</h1>
        <p className="agent-id">
          <code>{agent.id}</code> <CopyButton text={agent.id} label="Copy ID" /> · version {agent.agent_version}
          {agent.disabled && <strong> · disabled</strong>}
        </p>
      </div>
      <div className="agent-states">
        <span>
          Process <Badge kind="process" value={agent.status} />
        </span>
        <span>
          Health <Badge kind="health" value={agent.health} />
        </span>
        <span>
          Recovery <Badge kind="recovery" value={agent.recovery} />
        </span>
      </div>
      {canControl && (
        <div className="agent-actions">
          {(['start', 'stop', 'restart'] as const).map((a) => {
            const why = down ? NEEDS_AMS : allowed.reasons[a];
            return (
              <button key={a} type="button" disabled={why !== undefined || busy} onClick={() => setPending(a)} title={why}>
                {label(a)}
              </button>
            );
          })}
        </div>
      )}
      {canControl && agent.recovery === 'in_progress' && (
        <p className="muted small wide" data-testid="recovery-pending-note">
          Start and Restart are disabled while the AMS recovers this agent; see the Recovery tab for the next attempt.
        </p>
      )}
      {error !== null && (
        <p className="inline-error wide" role="alert">
          Could not {pending ?? 'do that'}: {describeError(error)}
        </p>
      )}
      <ConfirmDialog
        open={pending !== null}
        title={`${pending ? label(pending) : ''} ${agent.agent_name}?`}
        confirmLabel={pending ? label(pending) : ''}
        danger={pending === 'stop'}
        busy={busy}
        disabled={down}
        disabledReason={NEEDS_AMS}
        onConfirm={() => void run()}
        onCancel={() => setPending(null)}
      >
        <p>
          This will {pending} 1 agent: {agent.agent_name} (currently {agent.status}).
        </p>
      </ConfirmDialog>
    </header>
  );
}
