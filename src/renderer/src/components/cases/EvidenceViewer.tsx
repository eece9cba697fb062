/**
 * One evidence item: provenance, hashes (each with a copy button), integrity with "Re-verify", and a paged
 * preview (text, hex, or strings of the whole file with a minimum length and a filter) of bytes read from
 * disk by main; a file that is one JSON record (saved `-output json` of fileinfo, status…) is also shown as
 * its fields. The file is never opened otherwise, never executed, and the preview is plain text in a <pre>.
 */
import { Fragment, useCallback, useEffect, useMemo, useState, type FormEvent } from 'react';
import { MIN_STRING_RUN, MIN_STRING_RUN_RANGE } from '../../../../shared/workstation/evidence-preview.js';
import {
  MAX_PREVIEW_BYTES,
  PREVIEW_MODES,
  type EvidencePreview,
  type EvidenceView,
  type PreviewMode,
} from '../../../../shared/workstation/case-types.js';
import { escapeControlChars, formatBytes, formatCell } from '../../../../shared/commands/format.js';
import { dispatcher } from '../../state/dispatcher.js';
import { errorText, progressKey, useCasesStore } from '../../state/cases-store.js';
import { Instant } from '../Instant.js';
import { exactBytes, IntegrityPill, parseOffset } from './common.js';
import { CopyButton } from './CopyButton.js';

const PAGE_SIZES = [4 * 1024, 16 * 1024, MAX_PREVIEW_BYTES] as const;
const MODE_LABEL: Record<PreviewMode, string> = { text: 'Text', hex: 'Hex', strings: 'Strings' };

export function EvidenceViewer({ id, onVerified }: { id: string; onVerified(view: EvidenceView): void }) {
  const revision = useCasesStore((s) => s.revision);
  const openTranscript = useCasesStore((s) => s.openTranscript);
  const openNote = useCasesStore((s) => s.openNote);
  const verifyProgress = useCasesStore((s) => s.progress[progressKey('verify', id)]);
  const [view, setView] = useState<EvidenceView | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [verifying, setVerifying] = useState(false);
  const [actionError, setActionError] = useState<string | undefined>();

  useEffect(() => {
    let current = true;
    dispatcher
      .evidenceItem({ id })
      .then((v) => {
        if (!current) return;
        setView(v);
        setError(undefined);
      })
      .catch((e: unknown) => current && setError(errorText(e)));
    return () => {
      current = false;
    };
  }, [id, revision]);

  async function verify(): Promise<void> {
    setVerifying(true);
    setActionError(undefined);
    try {
      const v = await dispatcher.verifyEvidence({ id });
      setView(v);
      onVerified(v);
    } catch (e) {
      setActionError(`re-verify failed: ${errorText(e)}`);
    } finally {
      setVerifying(false);
    }
  }

  async function openCommand(commandId: string): Promise<void> {
    setActionError(undefined);
    try {
      const entry = await dispatcher.transcriptByCommand({ commandId });
      openTranscript(entry.caseId, entry.id);
    } catch (e) {
      setActionError(errorText(e));
    }
  }

  async function addNote(v: EvidenceView): Promise<void> {
    setActionError(undefined);
    try {
      const note = await dispatcher.createNote({
        caseId: v.caseId,
        title: `On ${v.name}`.slice(0, 200),
        body: `Evidence ${v.name}, SHA-256 ${v.sha256}\n\n`,
        evidenceId: v.id,
        ...(v.commandId ? { commandId: v.commandId } : {}),
      });
      openNote(note.caseId, note.id);
      void useCasesStore.getState().reload();
    } catch (e) {
      setActionError(errorText(e));
    }
  }

  if (!view) {
    return (
      <section className="card evidence-viewer" data-testid="evidence-viewer" data-id={id}>
        {error ? <p className="form-error">{error}</p> : <p className="card__hint">Loading…</p>}
      </section>
    );
  }
  const times = Object.entries(view.fileTimes).filter(
    (entry): entry is [string, string] => typeof entry[1] === 'string',
  );
  const bad = view.integrity === 'tampered' || view.integrity === 'missing';
  return (
    <section
      className={`card evidence-viewer ${bad ? 'evidence-viewer--bad' : ''}`}
      data-testid="evidence-viewer"
      data-id={id}
      data-integrity={view.integrity}
    >
      <div className="evidence-viewer__head">
        <h2 className="card__title" data-testid="evidence-name">
          {view.name}
        </h2>
        <IntegrityPill integrity={view.integrity} testId="evidence-integrity" />
        {view.verifiedAt && (
          <span className="cell-dim">
            checked <Instant iso={view.verifiedAt} />
          </span>
        )}
        <span className="toolbar__spacer" />
        <button
          type="button"
          className="button button--ghost button--small"
          data-testid="evidence-add-note"
          onClick={() => void addNote(view)}
        >
          Add note
        </button>
        <button
          type="button"
          className="button button--small"
          data-testid="evidence-verify"
          disabled={verifying}
          onClick={() => void verify()}
        >
          {verifying ? 'Verifying…' : 'Re-verify'}
        </button>
      </div>
      {verifying && verifyProgress && verifyProgress.total > 0 && (
        <progress
          className="cases__progress"
          data-testid="evidence-verify-progress"
          max={verifyProgress.total}
          value={verifyProgress.done}
          aria-label="Re-verification progress"
        />
      )}
      {view.integrity === 'tampered' && (
        <p className="evidence-viewer__alert" data-testid="evidence-tampered">
          The stored file no longer hashes to its SHA-256: it has been altered since it was acquired. Do not rely on it.
        </p>
      )}
      {view.integrity === 'missing' && (
        <p className="evidence-viewer__alert" data-testid="evidence-tampered">
          The stored file is missing from the evidence store.
        </p>
      )}
      {actionError && (
        <p className="form-error" data-testid="evidence-error">
          {actionError}
        </p>
      )}
      <div className="evidence-viewer__grid">
        <dl className="facts facts--wide" data-testid="evidence-provenance">
          <dt>Size</dt>
          <dd>
            {formatBytes(view.size)} <span className="cell-dim">({exactBytes(view.size)})</span>
          </dd>
          <dt>Kind</dt>
          <dd>{view.kind}</dd>
          <dt>Device</dt>
          <dd data-testid="evidence-device">
            {view.deviceName} <span className="cell-dim mono">{view.deviceId}</span>
          </dd>
          <dt>Original path</dt>
          <dd className="mono break" data-testid="evidence-original-path">
            {view.originalPath || '—'}
          </dd>
          <dt>Command ID</dt>
          <dd className="mono" data-testid="evidence-command-id">
            {view.commandId ? (
              <button
                type="button"
                className="linklike mono"
                title="Open the command's transcript"
                onClick={() => void openCommand(view.commandId ?? '')}
              >
                {view.commandId}
              </button>
            ) : (
              '—'
            )}
          </dd>
          <dt>Analyst</dt>
          <dd>{view.analyst}</dd>
          <dt>Acquired</dt>
          <dd>
            <Instant iso={view.acquiredAt} />
          </dd>
          {times.map(([name, iso]) => (
            <FileTime key={name} name={name} iso={iso} />
          ))}
        </dl>
        <dl className="facts facts--wide hashes" data-testid="evidence-hashes">
          <dt>SHA-256</dt>
          <dd className="hashes__value">
            <span className="mono break" data-testid="evidence-sha256">
              {view.sha256}
            </span>
            <CopyButton value={view.sha256} label="SHA-256" testId="evidence-copy-sha256" />
          </dd>
          <dt>SHA-1</dt>
          <dd className="hashes__value">
            <span className="mono break" data-testid="evidence-sha1">
              {view.sha1}
            </span>
            <CopyButton value={view.sha1} label="SHA-1" testId="evidence-copy-sha1" />
          </dd>
          <dt>MD5</dt>
          <dd className="hashes__value">
            <span className="mono break" data-testid="evidence-md5">
              {view.md5}
            </span>
            <CopyButton value={view.md5} label="MD5" testId="evidence-copy-md5" />
          </dd>
        </dl>
      </div>
      <Preview id={view.id} size={view.size} />
    </section>
  );
}

const TIME_LABEL: Record<string, string> = {
  mtime: 'Modified (device)',
  atime: 'Accessed (device)',
  ctime: 'Changed (device)',
  btime: 'Created (device)',
};

function FileTime({ name, iso }: { name: string; iso: string }) {
  return (
    <>
      <dt>{TIME_LABEL[name] ?? name}</dt>
      <dd data-testid={`evidence-${name}`}>
        <Instant iso={iso} /> <span className="cell-dim mono">{iso}</span>
      </dd>
    </>
  );
}

function Preview({ id, size }: { id: string; size: number }) {
  const [mode, setMode] = useState<PreviewMode>('text');
  const [pageSize, setPageSize] = useState<number>(PAGE_SIZES[0]);
  const [offset, setOffset] = useState(0);
  const [preview, setPreview] = useState<EvidencePreview | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [loading, setLoading] = useState(false);
  const [goTo, setGoTo] = useState('');
  const [goError, setGoError] = useState<string | undefined>();
  /** Offsets of the pages "Next" left (text pages end at a line break, so they are not a fixed size). */
  const [back, setBack] = useState<number[]>([]);
  const [minLength, setMinLength] = useState(MIN_STRING_RUN);
  const [filterInput, setFilterInput] = useState('');
  const [filter, setFilter] = useState('');

  // The filter applies 300 ms after the last keystroke, from the start of the file.
  useEffect(() => {
    const timer = setTimeout(() => {
      if (filterInput === filter) return;
      setFilter(filterInput);
      setBack([]);
      setOffset(0);
    }, 300);
    return () => clearTimeout(timer);
  }, [filterInput, filter]);

  const load = useCallback(
    async (
      m: PreviewMode,
      at: number,
      length: number,
      isCurrent: () => boolean,
      strings: { minLength: number; filter: string },
    ) => {
      setLoading(true);
      try {
        const p = await dispatcher.previewEvidence({
          id,
          mode: m,
          offset: at,
          length,
          ...(m === 'strings'
            ? { minLength: strings.minLength, ...(strings.filter ? { filter: strings.filter } : {}) }
            : {}),
        });
        if (!isCurrent()) return;
        setPreview(p);
        setError(undefined);
      } catch (e) {
        if (isCurrent()) setError(errorText(e));
      } finally {
        if (isCurrent()) setLoading(false);
      }
    },
    [id],
  );

  useEffect(() => {
    let current = true;
    void load(mode, offset, pageSize, () => current, { minLength, filter });
    return () => {
      current = false;
    };
  }, [load, mode, offset, pageSize, minLength, filter]);

  const record = useMemo(
    () =>
      preview && preview.mode === 'text' && preview.offset === 0 && preview.nextOffset === undefined
        ? singleRecord(preview.lines.join('\n'))
        : undefined,
    [preview],
  );

  function go(event: FormEvent): void {
    event.preventDefault();
    const at = parseOffset(goTo);
    if (at === undefined) {
      setGoError('an offset: 1234, 0x4d2 or 16k');
      return;
    }
    if (size > 0 && at >= size) {
      setGoError(`past the end (${exactBytes(size)})`);
      return;
    }
    setGoError(undefined);
    setBack([]);
    setOffset(at);
  }

  function previous(): void {
    const last = back[back.length - 1];
    setBack(back.slice(0, -1));
    setOffset(last !== undefined && last < offset ? last : Math.max(0, offset - pageSize));
  }

  function next(): void {
    if (preview?.nextOffset === undefined) return;
    setBack([...back, offset]);
    setOffset(preview.nextOffset);
  }

  const end = preview ? preview.offset + preview.length : 0;
  const shown = preview && preview.offset === offset && preview.mode === mode;
  return (
    <div className="preview" data-testid="evidence-preview-panel">
      <div className="toolbar toolbar--wrap preview__toolbar">
        <div className="segmented" role="group" aria-label="Preview mode">
          {PREVIEW_MODES.map((m) => (
            <button
              key={m}
              type="button"
              className="segmented__item"
              aria-pressed={mode === m}
              data-testid={`evidence-preview-mode-${m}`}
              onClick={() => {
                setMode(m);
                setBack([]);
              }}
            >
              {MODE_LABEL[m]}
            </button>
          ))}
        </div>
        {mode === 'strings' ? (
          <>
            <label className="toolbar__field">
              min length
              <input
                className="input mono preview__min"
                type="number"
                min={MIN_STRING_RUN_RANGE[0]}
                max={MIN_STRING_RUN_RANGE[1]}
                data-testid="evidence-strings-min"
                value={minLength}
                onChange={(event) => {
                  const n = Number(event.target.value);
                  if (!Number.isInteger(n) || n < MIN_STRING_RUN_RANGE[0] || n > MIN_STRING_RUN_RANGE[1]) return;
                  setMinLength(n);
                  setBack([]);
                  setOffset(0);
                }}
              />
            </label>
            <input
              className="input preview__filter"
              type="search"
              placeholder="Filter strings…"
              aria-label="Show only strings containing"
              maxLength={200}
              data-testid="evidence-strings-filter"
              value={filterInput}
              onChange={(event) => setFilterInput(event.target.value)}
            />
          </>
        ) : (
          <label className="toolbar__field">
            page
            <select
              className="input"
              data-testid="evidence-preview-size"
              value={pageSize}
              onChange={(event) => {
                setPageSize(Number(event.target.value));
                setBack([]);
              }}
            >
              {PAGE_SIZES.map((n) => (
                <option key={n} value={n}>
                  {n / 1024} KiB
                </option>
              ))}
            </select>
          </label>
        )}
        <button
          type="button"
          className="button button--ghost button--small"
          data-testid="evidence-preview-prev"
          disabled={offset === 0 || loading}
          onClick={previous}
        >
          ← Previous
        </button>
        <button
          type="button"
          className="button button--ghost button--small"
          data-testid="evidence-preview-next"
          disabled={preview?.nextOffset === undefined || loading}
          onClick={next}
        >
          Next →
        </button>
        <form className="toolbar__field" onSubmit={go}>
          go to offset
          <input
            className="input mono preview__goto"
            placeholder="0x1000"
            aria-label="Go to offset"
            data-testid="evidence-preview-offset"
            value={goTo}
            onChange={(event) => setGoTo(event.target.value)}
          />
          <button type="submit" className="button button--ghost button--small" data-testid="evidence-preview-go">
            Go
          </button>
        </form>
        <span
          className="cell-dim"
          data-testid="evidence-preview-range"
          data-offset={preview?.offset ?? -1}
          data-length={preview?.length ?? -1}
        >
          {preview ? (preview.size === 0 ? 'empty file' : rangeText(preview, end)) : ''}
          {loading ? ' · reading…' : ''}
        </span>
      </div>
      {goError && <p className="form-error">{goError}</p>}
      {error && (
        <p className="form-error" data-testid="evidence-preview-error">
          {error}
        </p>
      )}
      {record && mode === 'text' && (
        <dl className="facts facts--wide evidence-record" data-testid="evidence-record">
          {record.map(([key, value]) => (
            <Fragment key={key}>
              <dt className="mono">{key}</dt>
              <dd className="mono break">{value}</dd>
            </Fragment>
          ))}
        </dl>
      )}
      <pre
        className={`log__pre preview__pre ${shown ? '' : 'preview__pre--stale'}`}
        data-testid="evidence-preview"
        data-mode={preview?.mode ?? ''}
        data-offset={preview?.offset ?? -1}
        tabIndex={0}
      >
        {preview
          ? preview.lines.join('\n') ||
            (preview.mode === 'strings' ? `(no strings${filter ? ` containing “${filter}”` : ''} in this range)` : '')
          : '…'}
      </pre>
    </div>
  );
}

function rangeText(preview: EvidencePreview, end: number): string {
  const range = `bytes ${preview.offset.toLocaleString('en')}–${(Math.max(end, preview.offset + 1) - 1).toLocaleString('en')} of ${exactBytes(preview.size)}`;
  if (preview.mode !== 'strings') return range;
  const scanned =
    preview.nextOffset === undefined
      ? 'to the end of the file'
      : `${Math.floor((100 * end) / preview.size)}% of the file so far: Next goes on`;
  return `${preview.lines.length.toLocaleString('en')} strings in ${range} (scanned ${scanned})`;
}

/** A file that is one JSON record (an object, or an array of one object): its fields as display text. */
export function singleRecord(text: string): [string, string][] | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  if (Array.isArray(value)) value = value.length === 1 ? value[0] : undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return Object.entries(value as Record<string, unknown>).map(([key, v]) => [escapeControlChars(key), formatCell(v)]);
}
