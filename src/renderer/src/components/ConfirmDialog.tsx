/** A small modal confirmation: Escape or Cancel closes it, the confirm button is focused first. */
import { useEffect, useRef, type ReactNode } from 'react';

export interface ConfirmDialogProps {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  busy?: boolean;
  error?: string | undefined;
  testId: string;
  onConfirm(): void;
  onCancel(): void;
}

export function ConfirmDialog({ title, children, confirmLabel, busy, error, testId, onConfirm, onCancel }: ConfirmDialogProps) {
  const confirmRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    confirmRef.current?.focus();
    const onKey = (event: KeyboardEvent): void => {
      if (event.key === 'Escape') onCancel();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onCancel]);
  return (
    <div className="dialog-backdrop" role="presentation" onMouseDown={onCancel}>
      <div className="dialog" role="dialog" aria-modal="true" aria-labelledby={`${testId}-title`} data-testid={testId} onMouseDown={(e) => e.stopPropagation()}>
        <h2 id={`${testId}-title`} className="dialog__title">
          {title}
        </h2>
        <div className="dialog__body">{children}</div>
        {error && <p className="form-error">{error}</p>}
        <div className="dialog__actions">
          <button type="button" className="button button--ghost" onClick={onCancel} data-testid={`${testId}-cancel`}>
            Cancel
          </button>
          <button type="button" ref={confirmRef} className="button button--danger" disabled={busy} onClick={onConfirm} data-testid={`${testId}-confirm`}>
            {confirmLabel}
          </button>
        </div>
      </div>
    </div>
  );
}
