/**
 * "Import a case": a case zip (made by Export on this or another workstation) goes to main in chunks, like
 * library uploads; main verifies every member against the manifest and adds the case only when all do.
 * The result: the new case, or the problems, one `file: problem` per line (and nothing added).
 */
import { useRef, useState } from 'react';
import type { ImportCaseResult } from '../../../../shared/workstation/case-types.js';
import { formatBytes } from '../../../../shared/commands/format.js';
import { importCaseZip } from '../../state/upload-actions.js';
import { errorText, progressKey, useCasesStore } from '../../state/cases-store.js';

type ImportState =
  | { state: 'idle' }
  | { state: 'uploading'; name: string; size: number; sent: number; uploadId?: string }
  | { state: 'done'; name: string; result: ImportCaseResult }
  | { state: 'failed'; name: string; error: string };

export function ImportControl() {
  const [status, setStatus] = useState<ImportState>({ state: 'idle' });
  const uploadId = status.state === 'uploading' ? status.uploadId : undefined;
  const verifyProgress = useCasesStore((s) => (uploadId ? s.progress[progressKey('import', uploadId)] : undefined));
  /** Cancel: stops sending chunks, main drops what it staged (nothing is added). */
  const cancelling = useRef<AbortController | undefined>(undefined);

  async function importFile(file: File): Promise<void> {
    setStatus({ state: 'uploading', name: file.name, size: file.size, sent: 0 });
    const controller = new AbortController();
    cancelling.current = controller;
    try {
      if (file.size === 0) throw new Error('the file is empty');
      let upload: string | undefined;
      const result = await importCaseZip(file, file.name, {
        started: (id) => {
          upload = id;
          setStatus({ state: 'uploading', name: file.name, size: file.size, sent: 0, uploadId: id });
        },
        sent: (sent) => setStatus({ state: 'uploading', name: file.name, size: file.size, sent, uploadId: upload }),
        signal: controller.signal,
      });
      setStatus({ state: 'done', name: file.name, result });
      if (result.ok) {
        const store = useCasesStore.getState();
        await store.reload();
        if (result.caseId) store.selectCase(result.caseId);
        store.changed();
      }
    } catch (e) {
      setStatus({ state: 'failed', name: file.name, error: errorText(e) });
    } finally {
      cancelling.current = undefined;
    }
  }

  const busy = status.state === 'uploading';
  return (
    <div className="case-import">
      <label className={`button button--ghost button--small ${busy ? 'button--busy' : ''}`} aria-disabled={busy}>
        {busy ? 'Importing…' : 'Import case (.zip)…'}
        <input
          type="file"
          accept=".zip,application/zip"
          hidden
          disabled={busy}
          data-testid="cases-import-input"
          onChange={(event) => {
            const file = event.target.files?.[0];
            event.target.value = '';
            if (file) void importFile(file);
          }}
        />
      </label>
      <ImportStatus
        status={status}
        verified={verifyProgress}
        onCancel={() => cancelling.current?.abort()}
        onDismiss={() => setStatus({ state: 'idle' })}
      />
    </div>
  );
}

function ImportStatus({
  status,
  verified,
  onCancel,
  onDismiss,
}: {
  status: ImportState;
  verified: { done: number; total: number } | undefined;
  onCancel(): void;
  onDismiss(): void;
}) {
  if (status.state === 'idle') return null;
  if (status.state === 'uploading') {
    const verifying = status.sent >= status.size && verified && verified.total > 0;
    return (
      <div className="case-import__status" data-testid="import-result" data-state="running">
        <span className="mono ellipsis">{status.name}</span>
        <progress
          max={1}
          value={verifying ? verified.done / verified.total : status.sent / Math.max(1, status.size)}
          aria-label="Import progress"
        />
        <span className="cell-dim">
          {verifying
            ? `verifying ${verified.done}/${verified.total}`
            : `${formatBytes(status.sent)} of ${formatBytes(status.size)}`}
        </span>
        {!verifying && (
          <button
            type="button"
            className="button button--ghost button--small"
            data-testid="cancel-upload"
            onClick={onCancel}
          >
            Cancel
          </button>
        )}
      </div>
    );
  }
  const dismiss = (
    <button type="button" className="button button--ghost button--small" aria-label="Dismiss" onClick={onDismiss}>
      ×
    </button>
  );
  if (status.state === 'failed') {
    return (
      <div className="case-import__status" data-testid="import-result" data-state="failed">
        <span className="form-error">
          {status.name}: import failed: {status.error}
        </span>
        <span className="toolbar__spacer" />
        {dismiss}
      </div>
    );
  }
  const { result } = status;
  if (result.ok) {
    return (
      <div
        className="case-import__status"
        data-testid="import-result"
        data-state="ok"
        data-case-id={result.caseId ?? ''}
      >
        <span className="pill pill--ok">imported</span>
        <span>
          “{result.title ?? status.name}”: {result.verified} files verified against the manifest
        </span>
        <span className="toolbar__spacer" />
        {dismiss}
      </div>
    );
  }
  return (
    <div className="case-import__status case-import__status--bad" data-testid="import-result" data-state="rejected">
      <div className="case-import__head">
        <span className="pill pill--bad">rejected</span>
        <span>
          {status.name}: not imported, nothing was added ({result.problems.length}{' '}
          {result.problems.length === 1 ? 'problem' : 'problems'})
        </span>
        <span className="toolbar__spacer" />
        {dismiss}
      </div>
      <ul className="case-import__problems mono" data-testid="import-problems">
        {result.problems.map((p, i) => (
          <li key={i} data-testid="import-problem" data-file={p.file}>
            {p.file}: {p.problem}
          </li>
        ))}
      </ul>
    </div>
  );
}
