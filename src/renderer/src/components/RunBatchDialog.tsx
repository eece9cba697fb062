/**
 * "Run on selected" (Devices page): one command line for every selected device, with the batch's
 * concurrency, how long offline devices may be waited for (3 days by default, the vendor's figure) and a
 * comment. Tab completes commands, flags, values and library names as in a console. What the service
 * refuses (the role, the line, a device) is shown in one line and the dialog keeps everything typed.
 */
import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import {
  DEFAULT_BATCH_CONCURRENCY,
  DEFAULT_BATCH_EXPIRY_SEC,
  MAX_BATCH_CONCURRENCY,
} from '../../../shared/wire/batch.js';
import { dispatcher } from '../state/dispatcher.js';
import { trapFocus } from './ConfirmDialog.js';
import { describeError } from '../../../shared/errors.js';

const EXPIRIES: readonly { sec: number; label: string }[] = [
  { sec: 3600, label: '1 hour' },
  { sec: 24 * 3600, label: '1 day' },
  { sec: DEFAULT_BATCH_EXPIRY_SEC, label: '3 days' },
  { sec: 7 * 24 * 3600, label: '7 days' },
  { sec: 30 * 24 * 3600, label: '30 days' },
];
const MAX_SHOWN_CANDIDATES = 12;

export interface RunBatchDialogProps {
  devices: readonly { id: string; name: string; online: boolean }[];
  onCreated(batchId: string): void;
  onClose(): void;
}

export function RunBatchDialog({ devices, onCreated, onClose }: RunBatchDialogProps) {
  const [line, setLine] = useState('');
  const [concurrency, setConcurrency] = useState(String(DEFAULT_BATCH_CONCURRENCY));
  const [expiresInSec, setExpiresInSec] = useState(DEFAULT_BATCH_EXPIRY_SEC);
  const [comment, setComment] = useState('');
  const [candidates, setCandidates] = useState<string[]>([]);
  const [hint, setHint] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const lineRef = useRef<HTMLInputElement>(null);
  const dialogRef = useRef<HTMLDivElement>(null);
  const offline = devices.filter((d) => !d.online).length;

  useEffect(() => {
    lineRef.current?.focus();
  }, []);
  useEffect(() => {
    const onKey = (event: globalThis.KeyboardEvent): void => {
      if (event.key === 'Escape') onClose();
      else if (event.key === 'Tab' && event.target !== lineRef.current) trapFocus(event, dialogRef.current);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);

  const concurrencyValue = Number(concurrency);
  const concurrencyError =
    Number.isInteger(concurrencyValue) && concurrencyValue >= 1 && concurrencyValue <= MAX_BATCH_CONCURRENCY
      ? undefined
      : `a whole number from 1 to ${MAX_BATCH_CONCURRENCY}`;

  async function completeLine(event: KeyboardEvent<HTMLInputElement>): Promise<void> {
    if (event.key !== 'Tab' || event.shiftKey) return;
    event.preventDefault();
    const input = event.currentTarget;
    const cursor = input.selectionStart ?? line.length;
    try {
      const c = await dispatcher.completeBatchLine({ line, cursor });
      setHint(c.problem);
      if (c.candidates.length === 0) {
        setCandidates([]);
        return;
      }
      const common = commonPrefix(c.candidates);
      const single = c.candidates.length === 1;
      const insert = single && c.kind !== 'path' ? `${common} ` : common;
      const next = line.slice(0, c.replaceFrom) + insert + line.slice(cursor);
      setLine(next);
      setCandidates(single ? [] : c.candidates);
      const at = c.replaceFrom + insert.length;
      requestAnimationFrame(() => lineRef.current?.setSelectionRange(at, at));
    } catch (e) {
      setHint(describeError(e));
    }
  }

  async function run(): Promise<void> {
    if (!line.trim() || concurrencyError) return;
    setBusy(true);
    setError(undefined);
    try {
      const batch = await dispatcher.createBatch({
        commands: [line.trim()],
        target: { devices: devices.map((d) => d.id) },
        concurrency: concurrencyValue,
        expiresInSec,
        ...(comment.trim() ? { comment: comment.trim() } : {}),
      });
      onCreated(batch.id);
    } catch (e) {
      // One line, and nothing typed is lost: the analyst fixes the line (or asks for the role) and runs again.
      setError(describeError(e).split('\n')[0]);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="dialog-backdrop" role="presentation" onMouseDown={onClose}>
      <div
        ref={dialogRef}
        className="dialog run-batch"
        role="dialog"
        aria-modal="true"
        aria-labelledby="run-batch-title"
        data-testid="run-batch-dialog"
        onMouseDown={(event) => event.stopPropagation()}
      >
        <h2 id="run-batch-title" className="dialog__title">
          Run on {devices.length} {devices.length === 1 ? 'device' : 'devices'}
        </h2>
        <div className="dialog__body">
          <p className="run-batch__devices" title={devices.map((d) => d.name).join(', ')}>
            {devices.map((d) => d.name).join(', ')}
            {offline > 0 &&
              ` · ${offline} offline: ${offline === 1 ? 'it runs' : 'they run'} when back online, until the expiry`}
          </p>
          <label className="field">
            Command line (Tab completes)
            <input
              ref={lineRef}
              className="input mono"
              data-testid="run-batch-line"
              placeholder="processes -name sleep"
              spellCheck={false}
              autoComplete="off"
              value={line}
              onChange={(event) => {
                setLine(event.target.value);
                setCandidates([]);
                setHint(undefined);
              }}
              onKeyDown={(event) => {
                if (event.key === 'Enter') void run();
                else void completeLine(event);
              }}
            />
          </label>
          {candidates.length > 0 && (
            <p className="run-batch__candidates mono" data-testid="run-batch-candidates">
              {candidates.slice(0, MAX_SHOWN_CANDIDATES).join('  ')}
              {candidates.length > MAX_SHOWN_CANDIDATES && `  … ${candidates.length - MAX_SHOWN_CANDIDATES} more`}
            </p>
          )}
          {hint && <p className="card__hint">{hint}</p>}
          <div className="run-batch__row">
            <label className="field">
              At most at once
              <input
                className="input"
                type="number"
                min={1}
                max={MAX_BATCH_CONCURRENCY}
                data-testid="run-batch-concurrency"
                value={concurrency}
                aria-invalid={concurrencyError !== undefined}
                onChange={(event) => setConcurrency(event.target.value)}
              />
            </label>
            <label className="field">
              Wait for offline devices
              <select
                className="input"
                data-testid="run-batch-expiry"
                value={expiresInSec}
                onChange={(event) => setExpiresInSec(Number(event.target.value))}
              >
                {EXPIRIES.map((x) => (
                  <option key={x.sec} value={x.sec}>
                    {x.label}
                  </option>
                ))}
              </select>
            </label>
          </div>
          {concurrencyError && <p className="form-error">At most at once: {concurrencyError}</p>}
          <label className="field">
            Comment (optional)
            <input
              className="input"
              data-testid="run-batch-comment"
              maxLength={1000}
              value={comment}
              onChange={(event) => setComment(event.target.value)}
            />
          </label>
        </div>
        {error && (
          <p className="form-error" data-testid="run-batch-error">
            {error}
          </p>
        )}
        <div className="dialog__actions">
          <button type="button" className="button button--ghost" onClick={onClose} data-testid="run-batch-cancel">
            Cancel
          </button>
          <button
            type="button"
            className="button"
            disabled={busy || !line.trim() || concurrencyError !== undefined}
            onClick={() => void run()}
            data-testid="run-batch-run"
          >
            {busy ? 'Starting…' : 'Run'}
          </button>
        </div>
      </div>
    </div>
  );
}

function commonPrefix(words: readonly string[]): string {
  let prefix = words[0] ?? '';
  for (const w of words) while (!w.startsWith(prefix)) prefix = prefix.slice(0, -1);
  return prefix;
}
