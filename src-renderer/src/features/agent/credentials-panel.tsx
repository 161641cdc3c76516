// Rotate an agent's NATS credentials: the new ones are shown once, with a copy button; the
// old ones are revoked and their connections drop.
import { useState } from 'react';
import type { Agent, RotatedCredentials } from '../../api/types';
import { useConsole, useConsoleStore } from '../../store/context';
import { ConfirmDialog } from '../common/dialog';
import { CopyButton } from '../common/copy-button';
import { InlineError } from '../common/states';
import { NEEDS_AMS, useAmsDown } from '../common/link';

export function CredentialsPanel({ agent }: { agent: Agent }) {
  const { client } = useConsole();
  const allowed = useConsoleStore((s) => s.can('credentials:write'));
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [rotated, setRotated] = useState<RotatedCredentials | null>(null);
  const down = useAmsDown();
  const rotate = async () => {
    setBusy(true);
    setError(null);
    try {
      setRotated(await client.agents.rotateCredentials(agent.id));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };
  return (
    <section className="panel narrow" aria-labelledby="creds-title">
      <h2 id="creds-title">NATS credentials</h2>
      <p>
        The agent connects to the broker with its own credentials, allowed to publish only under its ID and its findings topic. Rotating issues new
        ones and revokes the old: a running agent started by the AMS is given the new file; one started elsewhere must be given it by hand.
      </p>
      {!allowed ? (
        <p className="muted">Rotating needs the credentials:write permission.</p>
      ) : (
        <button type="button" className="danger" onClick={() => setConfirming(true)} disabled={busy || down} title={down ? NEEDS_AMS : undefined}>
          Rotate credentials…
        </button>
      )}
      {error !== null && <InlineError what="rotate the credentials" error={error} />}
      {rotated && (
        <div className="secret-box" role="status" data-testid="rotated-creds">
          <p>
            <strong>New credentials — shown only now.</strong> {rotated.revoked} old credential{rotated.revoked === 1 ? ' was' : 's were'} revoked. Broker:{' '}
            <code>{rotated.nats.url}</code>
          </p>
          <textarea readOnly value={rotated.nats.creds} rows={8} aria-label="New NATS .creds file" spellCheck={false} />
          <div className="row">
            <CopyButton text={rotated.nats.creds} label="Copy the .creds file" />
            <button type="button" onClick={() => setRotated(null)}>
              I have stored them — hide
            </button>
          </div>
        </div>
      )}
      <ConfirmDialog
        open={confirming}
        title={`Rotate the credentials of ${agent.agent_name}?`}
        confirmLabel="Rotate"
        danger
        busy={busy}
        disabled={down}
        disabledReason={NEEDS_AMS}
        onConfirm={() => void rotate()}
        onCancel={() => setConfirming(false)}
      >
        <p>The current credentials stop working at once and the agent's broker connection drops.</p>
      </ConfirmDialog>
    </section>
  );
}
