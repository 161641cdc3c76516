// The three states every view has besides its data: loading, empty (saying what to do) and
// error (saying what failed, with a retry).
import type { ReactNode } from 'react';
import { describeError, isMissingEndpoint } from '../../api/errors';

export function Loading({ what }: { what: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      Loading {what}…
    </div>
  );
}

export function Empty({ title, children, action }: { title: string; children?: ReactNode; action?: ReactNode }) {
  return (
    <div className="state state-empty" role="status">
      <p className="state-title">{title}</p>
      {children && <div className="state-hint">{children}</div>}
      {action && <div className="state-action">{action}</div>}
    </div>
  );
}

export function ErrorState({ what, error, retry }: { what: string; error: unknown; retry?: () => void }) {
  const missing = isMissingEndpoint(error);
  return (
    <div className="state state-error" role="alert">
      <p className="state-title">Could not {what}</p>
      <p className="state-hint">{describeError(error)}</p>
      {missing && <p className="state-hint">This needs a newer AMS; the rest of the console works without it.</p>}
      {retry && (
        <button type="button" onClick={retry}>
          Retry
        </button>
      )}
    </div>
  );
}

/** Renders a Loadable: loading and error states, then `children(data)`. */
export function AsyncView<T>({
  state,
  what,
  retry,
  children,
}: {
  state: { status: string; data?: T; error?: unknown };
  what: string;
  retry?: () => void;
  children: (data: T) => ReactNode;
}) {
  if (state.status === 'error' && state.data === undefined) return <ErrorState what={`load ${what}`} error={state.error} retry={retry} />;
  if (state.data === undefined) return <Loading what={what} />;
  return (
    <>
      {state.status === 'error' && <InlineError what={`refresh ${what}`} error={state.error} retry={retry} />}
      {children(state.data)}
    </>
  );
}

export function InlineError({ what, error, retry }: { what: string; error: unknown; retry?: () => void }) {
  return (
    <div className="inline-error" role="alert">
      Could not {what}: {describeError(error)}{' '}
      {retry && (
        <button type="button" className="link-button" onClick={retry}>
          Retry
        </button>
      )}
    </div>
  );
}
