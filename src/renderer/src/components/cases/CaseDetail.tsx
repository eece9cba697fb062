/**
 * One case: its header (title, status, Active badge or "Make active", rename, close/reopen, export) and
 * the Notes / Transcripts / Evidence tabs.
 */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { CaseView, ExportCaseResult } from '../../../../shared/workstation/case-types.js';
import { formatBytes } from '../../../../shared/commands/format.js';
import { dispatcher } from '../../state/dispatcher.js';
import { useAppStore } from '../../state/app-store.js';
import { errorText, progressKey, useCasesStore, type CaseTab } from '../../state/cases-store.js';
import { Instant } from '../Instant.js';
import { EvidenceTab } from './EvidenceTab.js';
import { NotesTab } from './NotesTab.js';
import { TranscriptsTab } from './TranscriptsTab.js';

const TABS: { id: CaseTab; label: string; count(c: CaseView): number }[] = [
  { id: 'notes', label: 'Notes', count: (c) => c.counts.notes },
  { id: 'transcripts', label: 'Transcripts', count: (c) => c.counts.transcripts },
  { id: 'evidence', label: 'Evidence', count: (c) => c.counts.evidence },
];

export function CaseDetail() {
  const caseId = useCasesStore((s) => s.caseId);
  const view = useCasesStore((s) => s.cases.find((c) => c.id === s.caseId));
  const loaded = useCasesStore((s) => s.loaded);
  const tab = useCasesStore((s) => s.tab);
  const setTab = useCasesStore((s) => s.setTab);

  if (!caseId || !view) {
    return (
      <section className="cases__detail cases__detail--empty" data-testid="case-detail">
        <p className="card__hint">{loaded ? 'Create a case, or select one on the left.' : 'Loading cases…'}</p>
      </section>
    );
  }
  return (
    <section className="cases__detail" data-testid="case-detail" data-case-id={view.id}>
      <CaseHeader key={view.id} view={view} />
      <div className="tabs" role="tablist">
        {TABS.map((t) => (
          <button
            key={t.id}
            type="button"
            role="tab"
            className="tabs__tab"
            aria-selected={tab === t.id}
            data-testid={`case-tab-${t.id}`}
            onClick={() => setTab(t.id)}
          >
            {t.label} <span className="cell-dim">{t.count(view)}</span>
          </button>
        ))}
      </div>
      <div className="cases__tab-body">
        {tab === 'notes' && <NotesTab key={view.id} caseId={view.id} />}
        {tab === 'transcripts' && <TranscriptsTab key={view.id} caseId={view.id} />}
        {tab === 'evidence' && <EvidenceTab key={view.id} caseId={view.id} />}
      </div>
    </section>
  );
}

function CaseHeader({ view }: { view: CaseView }) {
  const [renaming, setRenaming] = useState(false);
  const [title, setTitle] = useState(view.title);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [exported, setExported] = useState<ExportCaseResult | undefined>();
  const [exporting, setExporting] = useState(false);
  const exportProgress = useCasesStore((s) => s.progress[progressKey('export', view.id)]);
  /** Cancel next to the progress: main stops the zip and deletes it (the error says nothing was written). */
  const cancelExport = useRef<AbortController | undefined>(undefined);
  const browserShell = useAppStore((s) => s.info?.mode === 'browser-shell');

  useEffect(() => {
    if (!renaming) setTitle(view.title);
  }, [view.title, renaming]);

  async function act(work: () => Promise<CaseView>): Promise<void> {
    setBusy(true);
    setError(undefined);
    try {
      const updated = await work();
      const store = useCasesStore.getState();
      store.put(updated);
      await store.reload();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  async function rename(event: FormEvent): Promise<void> {
    event.preventDefault();
    const t = title.trim();
    if (!t) return;
    await act(() => dispatcher.updateCase({ id: view.id, title: t }));
    setRenaming(false);
  }

  async function exportCase(): Promise<void> {
    setExporting(true);
    setExported(undefined);
    setError(undefined);
    const controller = new AbortController();
    cancelExport.current = controller;
    try {
      setExported(await dispatcher.exportCase({ id: view.id }, controller.signal));
    } catch (e) {
      setError(`export failed: ${errorText(e)}`);
    } finally {
      cancelExport.current = undefined;
      setExporting(false);
    }
  }

  return (
    <header className="case-header">
      <div className="case-header__row">
        {renaming ? (
          <form className="case-header__rename" onSubmit={(event) => void rename(event)}>
            <input
              className="input"
              aria-label="Case title"
              maxLength={200}
              autoFocus
              data-testid="case-rename-input"
              value={title}
              onChange={(event) => setTitle(event.target.value)}
              onKeyDown={(event) => {
                if (event.key === 'Escape') setRenaming(false);
              }}
            />
            <button
              type="submit"
              className="button button--small"
              data-testid="case-rename-save"
              disabled={busy || title.trim() === ''}
            >
              Save
            </button>
            <button type="button" className="button button--ghost button--small" onClick={() => setRenaming(false)}>
              Cancel
            </button>
          </form>
        ) : (
          <h2 className="case-header__title" data-testid="case-title">
            {view.title}
          </h2>
        )}
        {view.active ? (
          <span
            className="pill pill--ok"
            data-testid="case-detail-active"
            title="New evidence and console transcripts go to this case"
          >
            Active
          </span>
        ) : (
          <button
            type="button"
            className="button button--small"
            data-testid="case-activate"
            disabled={busy}
            title="New evidence and console transcripts will go to this case"
            onClick={() => void act(() => dispatcher.activateCase({ id: view.id }))}
          >
            Make active
          </button>
        )}
        <span
          className={`pill ${view.status === 'open' ? 'pill--ok' : 'pill--off'}`}
          data-testid="case-status"
          data-status={view.status}
        >
          {view.status}
        </span>
        <span className="toolbar__spacer" />
        {!renaming && (
          <button
            type="button"
            className="button button--ghost button--small"
            data-testid="case-rename"
            onClick={() => setRenaming(true)}
          >
            Rename
          </button>
        )}
        <button
          type="button"
          className="button button--ghost button--small"
          data-testid="case-close-toggle"
          disabled={busy}
          onClick={() =>
            void act(() => dispatcher.updateCase({ id: view.id, status: view.status === 'open' ? 'closed' : 'open' }))
          }
        >
          {view.status === 'open' ? 'Close case' : 'Reopen case'}
        </button>
        <button
          type="button"
          className="button button--small"
          data-testid="cases-export"
          disabled={exporting}
          onClick={() => void exportCase()}
        >
          {exporting ? 'Exporting…' : 'Export (.zip)'}
        </button>
      </div>
      <div className="cell-dim case-header__meta">
        <span className="mono">{view.id}</span> · created <Instant iso={view.createdAt} /> · updated{' '}
        <Instant iso={view.updatedAt} />
      </div>
      {exporting && exportProgress && exportProgress.total > 0 && (
        <>
          <progress
            className="cases__progress"
            max={exportProgress.total}
            value={exportProgress.done}
            aria-label="Export progress"
          />
          <button
            type="button"
            className="button button--ghost button--small"
            data-testid="cancel-export"
            onClick={() => cancelExport.current?.abort()}
          >
            Cancel
          </button>
        </>
      )}
      {exported && (
        <p
          className="cases__note"
          data-testid="cases-export-result"
          data-path={exported.path}
          data-bytes={exported.bytes}
        >
          Exported to <span className="mono">{exported.path}</span> ({formatBytes(exported.bytes)}, {exported.files}{' '}
          files)
          {browserShell && (
            <>
              {' · '}
              <a
                className="linklike"
                href={`/downloads/case-export/${encodeURIComponent(baseName(exported.path))}`}
                download
                data-testid="cases-export-download"
              >
                Download the zip
              </a>
            </>
          )}
        </p>
      )}
      {error && (
        <p className="form-error" data-testid="case-error">
          {error}
        </p>
      )}
    </header>
  );
}

/** The file name of a path written by main (POSIX or Windows separators). */
function baseName(file: string): string {
  return file.slice(Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\')) + 1);
}
