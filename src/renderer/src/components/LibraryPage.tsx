/**
 * The script library: the table of files, and a drop zone: dropped or chosen files are staged, each shown
 * with its own description, parameters description and example, and uploaded only on Confirm (the
 * reference's flow), with progress; delete with confirmation. A name already in the library is found when
 * the file is staged and again when the upload starts, before any byte is sent: the analyst chooses Replace,
 * Rename or Skip for that file (main refuses an upload that would replace a file without that choice). Users without
 * the
 * library-manager permission see the upload area greyed out, with the reason (basic users: not even the
 * list, the service refuses them the library).
 */
import { useCallback, useEffect, useRef, useState, type DragEvent } from 'react';
import { formatBytes } from '../../../shared/commands/format.js';
import type { LibraryView } from '../../../shared/workstation/ipc-contract.js';
import { libraryNameProblem } from '../../../shared/commands/library-rules.js';
import { dispatcher } from '../state/dispatcher.js';
import { freeName } from './library-names.js';
import './pages.css';
import { ConfirmDialog } from './ConfirmDialog.js';
import { onLibraryProgress } from './library-progress.js';
import { uploadLibraryFile } from '../state/upload-actions.js';
import { Instant } from './Instant.js';
import { describeError } from '../../../shared/errors.js';

/** A file chosen or dropped, waiting for Confirm, with the fields it will be uploaded with. */
interface StagedFile {
  key: string;
  file: File;
  description: string;
  parametersDescription: string;
  parametersExample: string;
  /** Set when the name is already in the library: what to do about it (undefined: not chosen yet). */
  conflict?: { choice: 'replace' | 'rename' | 'skip' | undefined; rename: string } | undefined;
}

type StagedFields = Pick<StagedFile, 'description' | 'parametersDescription' | 'parametersExample'>;

const NO_PERMISSION_REASON = 'Uploading needs the library-manager permission: ask an admin to grant it.';

interface UploadRow {
  key: string;
  name: string;
  size: number;
  /** 0..1 across both legs (renderer → main, main → service). */
  progress: number;
  state: 'queued' | 'uploading' | 'done' | 'failed';
  message?: string;
}

export function LibraryPage() {
  const [view, setView] = useState<LibraryView | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [deleting, setDeleting] = useState<string | undefined>();
  const [deleteBusy, setDeleteBusy] = useState(false);
  const [deleteError, setDeleteError] = useState<string | undefined>();

  const reload = useCallback(async () => {
    try {
      setView(await dispatcher.libraryView({}));
      setError(undefined);
    } catch (e) {
      setError(describeError(e));
    }
  }, []);

  useEffect(() => {
    void reload();
  }, [reload]);

  async function confirmDelete(): Promise<void> {
    if (!deleting) return;
    setDeleteBusy(true);
    try {
      await dispatcher.deleteLibraryFile({ name: deleting });
      setDeleting(undefined);
      setDeleteError(undefined);
      await reload();
    } catch (e) {
      setDeleteError(describeError(e));
    } finally {
      setDeleteBusy(false);
    }
  }

  return (
    <div className="page" data-testid="section-library" data-can-manage={view?.canManage ?? false}>
      {error && <p className="form-error">{error}</p>}
      {view && !view.files && (
        <section className="card" data-testid="library-refused">
          <h2 className="card__title">Library not available</h2>
          <p className="card__hint">{view.reason}</p>
        </section>
      )}
      {view?.files && (
        <UploadArea
          disabledReason={view.canManage ? undefined : NO_PERMISSION_REASON}
          existing={view.files.map((f) => f.name)}
          onUploaded={() => void reload()}
        />
      )}
      {view?.files && !view.canManage && (
        <p className="card__hint" data-testid="library-readonly">
          You can use these scripts; uploading and deleting need the library-manager permission.
        </p>
      )}
      {view?.files && (
        <div className="table-wrap">
          <table className="table" data-testid="library-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Description</th>
                <th>Parameters</th>
                <th className="num">Size</th>
                <th>Uploaded</th>
                <th>Signature</th>
                {view.canManage && <th aria-label="Actions" />}
              </tr>
            </thead>
            <tbody>
              {view.files.map((f) => (
                <tr key={f.name} data-testid={`library-row-${f.name}`}>
                  <td className="mono cell-strong">{f.name}</td>
                  <td>{f.description}</td>
                  <td>
                    {f.parametersDescription}
                    {f.parametersExample && <div className="cell-dim mono">e.g. {f.parametersExample}</div>}
                  </td>
                  <td className="num mono">{formatBytes(f.size)}</td>
                  <td>
                    {f.uploadedBy}
                    <div className="cell-dim">
                      <Instant iso={f.uploadedAt} />
                    </div>
                  </td>
                  <td>
                    <span
                      className={`pill ${f.signature === 'signed' ? 'pill--ok' : f.signature === 'invalid' ? 'pill--bad' : 'pill--off'}`}
                    >
                      {f.signature}
                    </span>
                    {f.publisher && <div className="cell-dim">{f.publisher}</div>}
                  </td>
                  {view.canManage && (
                    <td className="cell-actions">
                      <button
                        type="button"
                        className="button button--ghost button--small"
                        data-testid="library-delete"
                        onClick={() => setDeleting(f.name)}
                      >
                        Delete
                      </button>
                    </td>
                  )}
                </tr>
              ))}
              {view.files.length === 0 && (
                <tr>
                  <td colSpan={7} className="cell-dim">
                    The library is empty.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
      {deleting && (
        <ConfirmDialog
          title={`Delete ${deleting}?`}
          confirmLabel="Delete"
          busy={deleteBusy}
          error={deleteError}
          testId="library-delete-dialog"
          onConfirm={() => void confirmDelete()}
          onCancel={() => {
            setDeleting(undefined);
            setDeleteError(undefined);
          }}
        >
          <p>The file leaves the tenant's library; devices that already received it with putfile keep their copy.</p>
        </ConfirmDialog>
      )}
    </div>
  );
}

function UploadArea({
  onUploaded,
  disabledReason,
  existing,
}: {
  onUploaded(): void;
  disabledReason?: string;
  existing: readonly string[];
}) {
  const disabled = disabledReason !== undefined;
  const [dragging, setDragging] = useState(false);
  const [staged, setStaged] = useState<StagedFile[]>([]);
  const [busy, setBusy] = useState(false);
  const [rows, setRows] = useState<UploadRow[]>([]);
  /** The row being sent: its Cancel stops the chunks to main, which drops what it staged. */
  const cancelling = useRef<{ key: string; controller: AbortController } | undefined>(undefined);

  const update = (key: string, patch: Partial<UploadRow>): void =>
    setRows((all) => all.map((r) => (r.key === key ? { ...r, ...patch } : r)));
  const edit = (key: string, patch: Partial<StagedFields>): void =>
    setStaged((all) => all.map((f) => (f.key === key ? { ...f, ...patch } : f)));

  async function uploadOne(item: StagedFile, key: string): Promise<void> {
    const { file, description, parametersDescription, parametersExample } = item;
    const name = uploadName(item);
    const overwrite = item.conflict?.choice === 'replace';
    const problem = libraryNameProblem(name);
    if (problem) {
      update(key, { state: 'failed', message: problem });
      return;
    }
    update(key, { state: 'uploading', progress: 0 });
    let stopProgress: (() => void) | undefined;
    const controller = new AbortController();
    cancelling.current = { key, controller };
    try {
      const result = await uploadLibraryFile(
        file,
        { name, description, parametersDescription, parametersExample, overwrite },
        {
          started: (id) => {
            stopProgress = onLibraryProgress((event) => {
              if (event.uploadId === id && event.total > 0)
                update(key, { progress: 0.5 + (0.5 * event.sent) / event.total });
            });
          },
          sent: (bytes) => update(key, { progress: (0.5 * bytes) / Math.max(1, file.size) }),
          signal: controller.signal,
        },
      );
      update(key, { state: 'done', progress: 1, message: result.replaced ? 'replaced' : 'uploaded' });
    } catch (e) {
      update(key, { state: 'failed', message: describeError(e) });
    } finally {
      cancelling.current = undefined;
      stopProgress?.();
    }
  }

  /** Dropped or chosen: staged (fresh fields, the last drop's results cleared), nothing sent until Confirm. */
  function stage(files: readonly File[]): void {
    if (disabled) return;
    const taken = new Set(existing);
    const added = files.map((file, i) => ({
      key: `${Date.now()}-${i}-${file.name}`,
      file,
      description: '',
      parametersDescription: '',
      parametersExample: '',
      conflict: taken.has(file.name) ? { choice: undefined, rename: freeName(file.name, taken) } : undefined,
    }));
    if (staged.length === 0) setRows((all) => all.filter((r) => r.state === 'queued' || r.state === 'uploading'));
    setStaged((all) => [...all, ...added].slice(0, 50));
  }

  const undecided = staged.filter((f) => f.conflict && f.conflict.choice === undefined).length;

  async function confirm(): Promise<void> {
    // The library may have changed since the drop (another analyst): look again before sending anything.
    let names: string[];
    try {
      const fresh = await dispatcher.libraryView({});
      names = (fresh.files ?? []).map((f) => f.name);
    } catch (e) {
      setRows((all) => [
        {
          key: `list-${Date.now()}`,
          name: '(library)',
          size: 0,
          progress: 0,
          state: 'failed',
          message: `could not check the library for name conflicts: ${describeError(e)}`,
        },
        ...all,
      ]);
      return;
    }
    const taken = new Set(names);
    const late = staged.filter((f) => !f.conflict && taken.has(f.file.name));
    if (late.length > 0) {
      setStaged((all) =>
        all.map((f) =>
          late.includes(f) ? { ...f, conflict: { choice: undefined, rename: freeName(f.file.name, taken) } } : f,
        ),
      );
      return;
    }
    const items = staged.filter((f) => f.conflict?.choice !== 'skip');
    setStaged([]);
    setBusy(true);
    try {
      const added = items.map((item) => ({
        item,
        row: { key: item.key, name: uploadName(item), size: item.file.size, progress: 0, state: 'queued' as const },
      }));
      setRows((all) => [...added.map((a) => a.row), ...all].slice(0, 50));
      for (const { item, row } of added) await uploadOne(item, row.key);
    } finally {
      setBusy(false);
      onUploaded();
    }
  }

  function onDrop(event: DragEvent): void {
    event.preventDefault();
    setDragging(false);
    const files = [...event.dataTransfer.files];
    if (files.length > 0) stage(files);
  }

  return (
    <section
      className={`card upload ${disabled ? 'upload--disabled' : ''}`}
      data-testid="library-upload"
      data-disabled={disabled}
      aria-disabled={disabled}
    >
      <h2 className="card__title">Upload to the library</h2>
      {disabled && (
        <p className="card__hint" data-testid="library-upload-reason">
          {disabledReason}
        </p>
      )}
      <fieldset className="upload__fieldset" disabled={disabled}>
        <div
          className={`dropzone ${dragging ? 'dropzone--over' : ''}`}
          data-testid="library-dropzone"
          onDragOver={(event) => {
            event.preventDefault();
            event.dataTransfer.dropEffect = disabled ? 'none' : 'copy';
            if (!disabled) setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={onDrop}
        >
          <p>Drop one or more files here</p>
          {/* A real button (a label is not reachable with Tab); it opens the hidden file input. */}
          <button
            type="button"
            className="button button--ghost button--small"
            data-testid="library-choose-files"
            onClick={(event) =>
              event.currentTarget.parentElement?.querySelector<HTMLInputElement>('input[type="file"]')?.click()
            }
          >
            or choose files…
          </button>
          <input
            type="file"
            multiple
            hidden
            disabled={disabled}
            data-testid="upload-input"
            onChange={(event) => {
              const files = [...(event.target.files ?? [])];
              event.target.value = '';
              if (files.length > 0) stage(files);
            }}
          />
        </div>
        {staged.length > 0 && (
          <div className="staged" data-testid="upload-staged">
            {staged.map((f) => (
              <div key={f.key} className="staged__item upload__form" data-testid="staged-item" data-name={f.file.name}>
                <div className="staged__head">
                  <span className="mono cell-strong">{f.file.name}</span>
                  <span className="cell-dim">{formatBytes(f.file.size)}</span>
                  {!f.conflict && libraryNameProblem(f.file.name) && (
                    <span className="form-error">{libraryNameProblem(f.file.name)}</span>
                  )}
                  <button
                    type="button"
                    className="button button--ghost button--small"
                    data-testid="staged-remove"
                    onClick={() => setStaged((all) => all.filter((x) => x.key !== f.key))}
                  >
                    Remove
                  </button>
                </div>
                {f.conflict && (
                  <ConflictChoice
                    file={f}
                    taken={existing}
                    onChange={(conflict) =>
                      setStaged((all) => all.map((x) => (x.key === f.key ? { ...x, conflict } : x)))
                    }
                  />
                )}
                <label className="field">
                  <span>Description</span>
                  <input
                    className="input"
                    data-testid="upload-description"
                    value={f.description}
                    onChange={(event) => edit(f.key, { description: event.target.value })}
                    maxLength={4096}
                  />
                </label>
                <label className="field">
                  <span>Parameters description</span>
                  <input
                    className="input"
                    data-testid="upload-parameters-description"
                    value={f.parametersDescription}
                    onChange={(event) => edit(f.key, { parametersDescription: event.target.value })}
                    maxLength={4096}
                  />
                </label>
                <label className="field">
                  <span>Parameters example</span>
                  <input
                    className="input mono"
                    data-testid="upload-parameters-example"
                    value={f.parametersExample}
                    onChange={(event) => edit(f.key, { parametersExample: event.target.value })}
                    maxLength={4096}
                  />
                </label>
              </div>
            ))}
            <div className="staged__actions">
              {undecided > 0 && (
                <span className="form-error" data-testid="upload-undecided">
                  {undecided} file{undecided === 1 ? ' is' : 's are'} already in the library: choose Replace, Rename or
                  Skip.
                </span>
              )}
              <button
                type="button"
                className="button button--ghost"
                data-testid="upload-cancel"
                onClick={() => setStaged([])}
              >
                Cancel
              </button>
              <button
                type="button"
                className="button"
                data-testid="upload-confirm"
                disabled={
                  busy ||
                  undecided > 0 ||
                  staged.some((f) => f.conflict?.choice === 'rename' && renameProblem(f.conflict.rename, existing))
                }
                onClick={() => void confirm()}
              >
                Confirm upload of {staged.length} file{staged.length === 1 ? '' : 's'}
              </button>
            </div>
          </div>
        )}
      </fieldset>
      {rows.length > 0 && (
        <ul className="uploads" data-testid="upload-list">
          {rows.map((r) => (
            <li
              key={r.key}
              className={`uploads__item uploads__item--${r.state}`}
              data-testid="upload-item"
              data-name={r.name}
              data-state={r.state}
              role={r.state === 'failed' ? 'alert' : undefined}
            >
              <span className="mono">{r.name}</span>
              <span className="cell-dim">{formatBytes(r.size)}</span>
              {r.state === 'failed' ? (
                <span className="pill pill--bad">failed</span>
              ) : (
                <progress max={1} value={r.progress} aria-label={`${r.name} upload progress`} />
              )}
              {r.state === 'uploading' && (
                <button
                  type="button"
                  className="button button--ghost button--small"
                  data-testid="cancel-upload"
                  onClick={() => {
                    if (cancelling.current?.key === r.key) cancelling.current.controller.abort();
                  }}
                >
                  Cancel
                </button>
              )}
              <span
                className={r.state === 'failed' ? 'form-error uploads__reason' : 'cell-dim'}
                data-testid="upload-item-message"
              >
                {r.message ?? r.state}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** The name a staged file is uploaded under: its own, or the one typed for "Rename". */
function uploadName(item: StagedFile): string {
  return item.conflict?.choice === 'rename' ? item.conflict.rename.trim() : item.file.name;
}

function renameProblem(name: string, taken: readonly string[]): string | undefined {
  const trimmed = name.trim();
  if (taken.includes(trimmed)) return `${trimmed} is in the library too`;
  return libraryNameProblem(trimmed) ?? undefined;
}

/** Replace / Rename / Skip for a file whose name is already in the library. */
function ConflictChoice({
  file,
  taken,
  onChange,
}: {
  file: StagedFile;
  taken: readonly string[];
  onChange(conflict: NonNullable<StagedFile['conflict']>): void;
}) {
  const conflict = file.conflict;
  if (!conflict) return null;
  const problem = conflict.choice === 'rename' ? renameProblem(conflict.rename, taken) : undefined;
  return (
    <div className="conflict" data-testid="upload-conflict" data-choice={conflict.choice ?? ''}>
      <span className="conflict__text">
        <strong className="mono">{file.file.name}</strong> is already in the library.
      </span>
      <div className="segmented" role="group" aria-label={`What to do with ${file.file.name}`}>
        {(['replace', 'rename', 'skip'] as const).map((choice) => (
          <button
            key={choice}
            type="button"
            className="segmented__item"
            aria-pressed={conflict.choice === choice}
            data-testid={`upload-conflict-${choice}`}
            onClick={() => onChange({ ...conflict, choice })}
          >
            {choice === 'replace' ? 'Replace' : choice === 'rename' ? 'Rename' : 'Skip'}
          </button>
        ))}
      </div>
      {conflict.choice === 'rename' && (
        <label className="field conflict__rename">
          <span>Upload as</span>
          <input
            className="input mono"
            data-testid="upload-conflict-name"
            value={conflict.rename}
            maxLength={255}
            onChange={(event) => onChange({ ...conflict, rename: event.target.value })}
          />
          {problem && <span className="form-error">{problem}</span>}
        </label>
      )}
      {conflict.choice === 'replace' && (
        <span className="cell-dim">The library's copy is replaced when the upload completes.</span>
      )}
      {conflict.choice === 'skip' && <span className="cell-dim">Not uploaded.</span>}
    </div>
  );
}
