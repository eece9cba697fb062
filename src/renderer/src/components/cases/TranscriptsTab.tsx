/**
 * A case's transcript: every console command recorded in it (time, device, line, status), windowed and
 * loaded in pages as they scroll into view; the selected entry's full output in a read-only viewer.
 */
import { useCallback, useEffect, useRef, useState, type KeyboardEvent } from 'react';
import type { TranscriptEntryView, TranscriptSummary } from '../../../../shared/workstation/case-types.js';
import { dispatcher } from '../../state/dispatcher.js';
import { errorText, useCasesStore } from '../../state/cases-store.js';
import { Instant } from '../Instant.js';
import { listKeyTarget } from '../list-keys.js';
import { WindowedList } from '../WindowedList.js';
import { CommandStatusPill } from './common.js';

const PAGE = 200;
const ROW_HEIGHT = 30;

export function TranscriptsTab({ caseId }: { caseId: string }) {
  const revision = useCasesStore((s) => s.revision);
  const transcriptId = useCasesStore((s) => s.transcriptId);
  const openTranscript = useCasesStore((s) => s.openTranscript);
  const [total, setTotal] = useState<number | undefined>();
  const [pages, setPages] = useState<ReadonlyMap<number, TranscriptSummary[]>>(new Map());
  const [error, setError] = useState<string | undefined>();
  /** Pages asked for since the last refresh. */
  const requested = useRef(new Set<number>());
  const generation = useRef(0);
  const visible = useRef<[number, number]>([0, 0]);
  /** Where the opened entry sits in the list (a search hit or a note's link may open one out of view). */
  const [openedAt, setOpenedAt] = useState<number | undefined>();

  const loadPage = useCallback(
    async (page: number) => {
      if (requested.current.has(page)) return;
      requested.current.add(page);
      const gen = generation.current;
      try {
        const answer = await dispatcher.caseTranscripts({ caseId, offset: page * PAGE, limit: PAGE });
        if (gen !== generation.current) return;
        setTotal(answer.total);
        setPages((previous) => new Map(previous).set(page, answer.items));
        setError(undefined);
      } catch (e) {
        if (gen !== generation.current) return;
        requested.current.delete(page);
        setError(errorText(e));
      }
    },
    [caseId],
  );

  // First load, and a refetch of what is in view at every change (the rows shown stay until it arrives).
  useEffect(() => {
    generation.current += 1;
    requested.current = new Set();
    const [first, last] = visible.current;
    for (let page = Math.floor(first / PAGE); page <= Math.floor(last / PAGE); page += 1) void loadPage(page);
  }, [revision, loadPage]);

  const onRange = useCallback(
    (first: number, last: number) => {
      visible.current = [first, last];
      for (let page = Math.floor(first / PAGE); page <= Math.floor(last / PAGE); page += 1) void loadPage(page);
    },
    [loadPage],
  );

  const rowAt = (index: number): TranscriptSummary | undefined => pages.get(Math.floor(index / PAGE))?.[index % PAGE];
  // The arrows walk the list (the viewer follows); Enter opens the first row when none is open.
  const onListKey = (event: KeyboardEvent): void => {
    let current = -1;
    for (const [page, rows] of pages) {
      const at = rows.findIndex((row) => row.id === transcriptId);
      if (at >= 0) current = page * PAGE + at;
    }
    const next = listKeyTarget(event.key, current, total ?? 0);
    const row = next === undefined ? undefined : rowAt(next);
    if (next === undefined || !row) return;
    event.preventDefault();
    openTranscript(caseId, row.id);
    setOpenedAt(next);
  };

  return (
    <div className="transcripts" data-testid="transcripts-tab">
      <div
        className="log__list transcripts__list"
        onKeyDown={onListKey}
        data-testid="transcript-list"
        data-total={total ?? -1}
      >
        <div className="log-row transcript-row log-row--head" role="row">
          <span>Time</span>
          <span>Device</span>
          <span>Command</span>
          <span>Status</span>
        </div>
        {error && <p className="form-error transcripts__error">{error}</p>}
        {total === 0 && (
          <p className="card__hint transcripts__empty">
            No commands recorded in this case yet: commands typed in a console while the case is active appear here.
          </p>
        )}
        <WindowedList
          count={total ?? 0}
          rowHeight={ROW_HEIGHT}
          onRange={onRange}
          testId="transcript-viewport"
          scrollToIndex={openedAt}
          renderRow={(index) => {
            const row = rowAt(index);
            if (!row) return <div className="log-row transcript-row log-row--placeholder">…</div>;
            return (
              <div
                className="log-row transcript-row"
                role="row"
                aria-selected={row.id === transcriptId}
                data-testid="transcript-row"
                data-id={row.id}
                data-command-id={row.commandId ?? ''}
                data-status={row.status}
                onClick={() => openTranscript(caseId, row.id)}
              >
                <Instant iso={row.startedAt} short className="mono cell-dim ellipsis" />
                <span className="ellipsis">{row.deviceName}</span>
                <span className="mono ellipsis" title={row.line}>
                  {row.line}
                </span>
                <span>
                  <CommandStatusPill status={row.status} />
                </span>
              </div>
            );
          }}
        />
      </div>
      <TranscriptViewer
        id={transcriptId}
        caseId={caseId}
        onLoaded={(entry) => setOpenedAt(entry.caseId === caseId ? entry.position : undefined)}
      />
    </div>
  );
}

export function TranscriptViewer({
  id,
  caseId,
  onLoaded,
}: {
  id: string | undefined;
  caseId: string;
  onLoaded?: (entry: TranscriptEntryView) => void;
}) {
  const [entry, setEntry] = useState<TranscriptEntryView | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [adding, setAdding] = useState(false);
  const openNote = useCasesStore((s) => s.openNote);

  useEffect(() => {
    setEntry(undefined);
    setError(undefined);
    if (!id) return;
    let current = true;
    dispatcher
      .transcript({ id })
      .then((loaded) => {
        if (!current) return;
        setEntry(loaded);
        onLoaded?.(loaded);
      })
      .catch((e: unknown) => current && setError(errorText(e)));
    return () => {
      current = false;
    };
  }, [id]);

  async function addNote(): Promise<void> {
    if (!entry) return;
    setAdding(true);
    setError(undefined);
    try {
      const note = await dispatcher.createNote({
        caseId: entry.caseId,
        title: `On ${entry.line}`.slice(0, 200),
        body: '',
        ...(entry.commandId ? { commandId: entry.commandId } : {}),
      });
      openNote(note.caseId, note.id);
      void useCasesStore.getState().reload();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setAdding(false);
    }
  }

  if (!id) {
    return (
      <aside className="log__detail log__detail--empty" data-testid="transcript-viewer">
        <p className="card__hint">Select a command to see its output as the console showed it.</p>
      </aside>
    );
  }
  return (
    <aside className="log__detail" data-testid="transcript-viewer" data-id={id} data-case-id={caseId}>
      <div className="log__detail-head">
        <h2 className="card__title mono ellipsis" data-testid="transcript-line" title={entry?.line}>
          {entry?.line ?? '…'}
        </h2>
        <button
          type="button"
          className="button button--small transcript__add-note"
          data-testid="transcript-add-note"
          disabled={!entry || adding}
          onClick={() => void addNote()}
        >
          Add note
        </button>
      </div>
      {error && <p className="form-error">{error}</p>}
      {entry && (
        <>
          <dl className="facts">
            <dt>Command ID</dt>
            <dd className="mono" data-testid="transcript-command-id">
              {entry.commandId ?? '— (refused before it got one)'}
            </dd>
            <dt>Device</dt>
            <dd>
              {entry.deviceName} <span className="cell-dim mono">{entry.deviceId}</span>
            </dd>
            <dt>Analyst</dt>
            <dd>{entry.analyst}</dd>
            <dt>Status</dt>
            <dd data-testid="transcript-status">
              <CommandStatusPill status={entry.status} />
              {entry.error && <span className="form-error"> {entry.error}</span>}
            </dd>
            <dt>Started</dt>
            <dd>
              <Instant iso={entry.startedAt} />
            </dd>
            <dt>Ended</dt>
            <dd>
              <Instant iso={entry.endedAt} />
            </dd>
            <dt>Session</dt>
            <dd className="mono">{entry.sessionId}</dd>
          </dl>
          <h3 className="log__detail-label">Output</h3>
          {entry.outputTruncated && (
            <p className="card__hint" data-testid="transcript-truncated">
              The output was longer than a transcript keeps: its first {entry.outputChars.toLocaleString('en')}{' '}
              characters are below. The command log keeps a first part too (1 MiB by default) with the full size and
              SHA-256; when the console saved the full output as evidence, the last lines below name the file.
            </p>
          )}
          <pre className="log__pre log__pre--output transcript__output" data-testid="transcript-output" tabIndex={0}>
            {entry.output || '(no output)'}
          </pre>
        </>
      )}
    </aside>
  );
}
