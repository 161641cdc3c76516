// The console's link to the AMS as every view shows it: one banner under the top bar with the
// reason and the reconnect state, a "last known at" note beside each view's data, and the rule
// that controls needing the AMS are disabled while it does not answer.
import { useShallow } from 'zustand/react/shallow';
import { useConsole, useConsoleStore } from '../../store/context';
import type { LinkState } from '../../store/connection-slice';
import { timeOfDay } from './format';
import { useNow } from './use-now';

/** The link's state (up, interrupted, down). */
export function useLinkState(): LinkState {
  return useConsoleStore((s) => s.link.state);
}

/** True while the AMS does not answer: controls that need it are disabled. */
export function useAmsDown(): boolean {
  return useConsoleStore((s) => s.link.state === 'down');
}

/** The tooltip of a control disabled because the AMS does not answer. */
export const NEEDS_AMS = 'The AMS does not answer; this needs it. The console reconnects by itself.';

export function LinkBanner() {
  const { stream: eventStream, store } = useConsole();
  const { link, stream, signedIn } = useConsoleStore(useShallow((s) => ({ link: s.link, stream: s.stream, signedIn: s.session.status === 'signed-in' })));
  const now = useNow();
  if (!signedIn || link.state === 'up') return null;
  const retry = stream.retryAt ? Math.max(0, Math.ceil((stream.retryAt - now) / 1000)) : null;
  const reconnecting =
    stream.state === 'live'
      ? 'Reloading what changed meanwhile…'
      : `Reconnecting${stream.attempt > 0 ? `: attempt ${stream.attempt}` : ''}${retry !== null ? `, next in ${retry} s` : '…'}`;
  return (
    <div className={`link-banner link-${link.state}`} role="alert" data-testid="link-banner" data-state={link.state}>
      <p>
        <strong>{link.state === 'down' ? 'The AMS is unreachable' : 'Live updates stopped'}</strong>
        {link.reason ? ` (${link.reason})` : ''}.{' '}
        {link.since !== null && (
          <>
            Everything shown is as last known at <time data-testid="last-known">{timeOfDay(link.since)}</time>
            {link.state === 'down' ? '; actions that need the AMS are disabled' : ''}.{' '}
          </>
        )}
        <span data-testid="reconnect-state">{reconnecting}</span>
      </p>
      <button
        type="button"
        onClick={() => {
          eventStream.restart();
          void store.getState().loadHealth();
        }}
      >
        Reconnect now
      </button>
    </div>
  );
}

/** Beside a view's data: "last known at 12:04:33" while the link is not up. */
export function StaleNote() {
  const link = useConsoleStore((s) => s.link);
  if (link.state === 'up' || link.since === null) return null;
  return (
    <span className="stale-note" data-testid="stale-note">
      last known at {timeOfDay(link.since)}
    </span>
  );
}
