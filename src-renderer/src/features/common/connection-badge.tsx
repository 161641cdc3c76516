// Always visible: whether the console is live, reconnecting or offline.
import { useShallow } from 'zustand/react/shallow';
import { connectionState } from '../../store/connection-slice';
import { useConsoleStore } from '../../store/context';
import { useNow } from './use-now';

function retryIn(at: number, now: number): string {
  const s = Math.ceil((at - now) / 1000);
  return s > 0 ? `retrying in ${s} s` : 'retrying now';
}

const TEXT = { live: 'Live', connecting: 'Connecting…', reconnecting: 'Reconnecting', offline: 'Offline', 'signed-out': 'AMS reachable' } as const;

export function ConnectionBadge() {
  const { stream, amsReachable, signedIn } = useConsoleStore(useShallow((s) => ({ stream: s.stream, amsReachable: s.amsReachable, signedIn: s.session.status === 'signed-in' })));
  const now = useNow();
  const state = signedIn ? connectionState({ stream, amsReachable }) : amsReachable ? 'signed-out' : 'offline';
  const detail =
    state === 'offline' && !amsReachable
      ? 'The AMS does not answer'
      : (state === 'reconnecting' || state === 'offline') && stream.retryAt
        ? `${stream.reason ? `${stream.reason}; ` : ''}${retryIn(stream.retryAt, now)}`
        : state === 'live'
          ? 'Receiving live events'
          : signedIn
            ? 'Opening the live event stream'
            : 'sign in for live updates';
  return (
    <div className={`connection connection-${state}`} role="status" aria-live="polite" data-testid="connection-state" data-state={state} title={detail}>
      <span className="dot" aria-hidden="true" />
      <span className="connection-text">{TEXT[state]}</span>
      <span className="connection-detail">{detail}</span>
    </div>
  );
}
