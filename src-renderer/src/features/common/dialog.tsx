// Modal dialogs on the native <dialog> (focus trap and Escape come with it): a confirmation,
// and a plain one with a close button.
import { useEffect, useId, useRef } from 'react';
import type { ReactNode } from 'react';

function useModal(open: boolean) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return ref;
}

export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  danger,
  busy,
  disabled,
  disabledReason,
  onConfirm,
  onCancel,
}: {
  open: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  /** The confirm button cannot be used (e.g. the AMS does not answer); `disabledReason` says why. */
  disabled?: boolean;
  disabledReason?: string;
  onConfirm(): void;
  onCancel(): void;
}) {
  const ref = useModal(open);
  const id = useId();
  return (
    <dialog ref={ref} className="dialog" aria-labelledby={`${id}-title`} onCancel={(e) => (e.preventDefault(), onCancel())}>
      <h2 id={`${id}-title`}>{title}</h2>
      <div className="dialog-body">{children}</div>
      {disabled && disabledReason && <p className="muted small">{disabledReason}</p>}
      <div className="dialog-actions">
        <button type="button" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
        <button type="button" className={danger ? 'danger' : 'primary'} onClick={onConfirm} disabled={busy || disabled} autoFocus>
          {busy ? 'Working…' : confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

export function InfoDialog({ open, title, children, onClose }: { open: boolean; title: string; children: ReactNode; onClose(): void }) {
  const ref = useModal(open);
  const id = useId();
  return (
    <dialog ref={ref} className="dialog" aria-labelledby={`${id}-title`} onCancel={(e) => (e.preventDefault(), onClose())}>
      <h2 id={`${id}-title`}>{title}</h2>
      <div className="dialog-body">{children}</div>
      <div className="dialog-actions">
        <button type="button" className="primary" onClick={onClose} autoFocus>
          Close
        </button>
      </div>
    </dialog>
  );
}

/** A dialog holding a form (its own submit and cancel buttons). */
export function FormDialog({ open, title, children, onClose, wide }: { open: boolean; title: string; children: ReactNode; onClose(): void; wide?: boolean }) {
  const ref = useModal(open);
  const id = useId();
  return (
    <dialog ref={ref} className={`dialog dialog-form${wide ? ' wide' : ''}`} aria-labelledby={`${id}-title`} onCancel={(e) => (e.preventDefault(), onClose())}>
      <h2 id={`${id}-title`}>{title}</h2>
      {open && children}
    </dialog>
  );
}
