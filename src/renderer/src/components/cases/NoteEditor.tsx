/**
 * The note editor: title, markdown body, and the command the note is about. Autosave: the whole note goes
 * to main (lr:notes.save) 300 ms after the last keystroke, and at least every 500 ms while the analyst
 * keeps typing, so a crash loses at most about a second of typing. Saves never overlap; a failed save is
 * retried while the note stays unsaved; leaving the note (or the page) saves what is pending.
 */
import { useCallback, useEffect, useRef, useState, type KeyboardEvent } from 'react';
import type { NoteView } from '../../../../shared/workstation/case-types.js';
import { MAX_NOTE_CHARS } from '../../../../shared/workstation/ipc-contract.js';
import { dispatcher } from '../../state/dispatcher.js';
import { errorText, useCasesStore } from '../../state/cases-store.js';
import { ConfirmDialog } from '../ConfirmDialog.js';
import { useInstant } from '../time.js';
import { Markdown } from './Markdown.js';

/** Quiet time after the last keystroke before a save. */
export const AUTOSAVE_DEBOUNCE_MS = 300;
/** Longest time an edit waits while typing goes on. */
export const AUTOSAVE_MAX_WAIT_MS = 500;
const RETRY_MS = 2000;

interface Fields {
  title: string;
  body: string;
  commandId: string;
}

type SaveState =
  { state: 'saved'; at: string } | { state: 'dirty' } | { state: 'saving' } | { state: 'error'; error: string };

/** Keeps a note saved: call `edit` on every change; `flush` saves now (if anything is unsaved). */
function useAutosave(
  noteId: string,
  initial: Fields,
  initialSavedAt: string,
  onSaved: (fields: Fields, updatedAt: string) => void,
) {
  const [saveState, setSaveState] = useState<SaveState>({ state: 'saved', at: initialSavedAt });
  const latest = useRef(initial);
  const version = useRef(0);
  const savedVersion = useRef(0);
  /** When the oldest unsaved edit was made (undefined: nothing unsaved, or a save has taken it). */
  const firstUnsavedAt = useRef<number | undefined>(undefined);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const inFlight = useRef(false);
  const mounted = useRef(true);
  const stopped = useRef(false);
  const onSavedRef = useRef(onSaved);
  onSavedRef.current = onSaved;

  const schedule = useCallback((delay?: number) => {
    if (stopped.current) return;
    const now = Date.now();
    firstUnsavedAt.current ??= now;
    const wait =
      delay ?? Math.max(0, Math.min(AUTOSAVE_DEBOUNCE_MS, AUTOSAVE_MAX_WAIT_MS - (now - firstUnsavedAt.current)));
    clearTimeout(timer.current);
    timer.current = setTimeout(() => {
      timer.current = undefined;
      void flushRef.current();
    }, wait);
  }, []);

  const flush = useCallback(async (): Promise<void> => {
    clearTimeout(timer.current);
    timer.current = undefined;
    if (inFlight.current || stopped.current || version.current === savedVersion.current) return;
    inFlight.current = true;
    const v = version.current;
    const fields = latest.current;
    firstUnsavedAt.current = undefined;
    if (mounted.current) setSaveState({ state: 'saving' });
    try {
      const commandId = fields.commandId.trim();
      const answer = await dispatcher.saveNote({
        id: noteId,
        title: fields.title,
        body: fields.body,
        commandId: commandId === '' ? null : commandId,
      });
      savedVersion.current = Math.max(savedVersion.current, v);
      onSavedRef.current(fields, answer.updatedAt);
      if (mounted.current)
        setSaveState(
          version.current === savedVersion.current ? { state: 'saved', at: answer.updatedAt } : { state: 'dirty' },
        );
      inFlight.current = false;
      // Typing went on during the save: its own deadline counts from its first keystroke.
      if (version.current !== savedVersion.current) schedule();
    } catch (e) {
      inFlight.current = false;
      if (mounted.current) setSaveState({ state: 'error', error: errorText(e) });
      schedule(RETRY_MS);
    }
  }, [noteId, schedule]);
  const flushRef = useRef(flush);
  flushRef.current = flush;

  const edit = useCallback(
    (patch: Partial<Fields>) => {
      latest.current = { ...latest.current, ...patch };
      version.current += 1;
      if (!inFlight.current) setSaveState((s) => (s.state === 'error' ? s : { state: 'dirty' }));
      schedule();
    },
    [schedule],
  );

  /** No more saves (the note is being deleted). */
  const stop = useCallback(() => {
    stopped.current = true;
    clearTimeout(timer.current);
  }, []);

  // Leaving the note or the page: what is pending goes now.
  useEffect(() => {
    mounted.current = true;
    const onHide = (): void => void flushRef.current();
    window.addEventListener('pagehide', onHide);
    window.addEventListener('beforeunload', onHide);
    return () => {
      window.removeEventListener('pagehide', onHide);
      window.removeEventListener('beforeunload', onHide);
      mounted.current = false;
      void flushRef.current();
    };
  }, []);

  return { saveState, edit, flush, stop };
}

export interface NoteEditorProps {
  note: NoteView;
  onSaved(note: NoteView): void;
  onDeleted(id: string): void;
}

export function NoteEditor({ note, onSaved, onDeleted }: NoteEditorProps) {
  const [fields, setFields] = useState<Fields>({ title: note.title, body: note.body, commandId: note.commandId ?? '' });
  const [linkError, setLinkError] = useState<string | undefined>();
  const [opening, setOpening] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [deleteError, setDeleteError] = useState<string | undefined>();
  const [preview, setPreview] = useState(false);
  const openTranscript = useCasesStore((s) => s.openTranscript);
  const openEvidence = useCasesStore((s) => s.openEvidence);
  const noteRef = useRef(note);
  noteRef.current = note;

  const { saveState, edit, flush, stop } = useAutosave(note.id, fields, note.updatedAt, (saved, updatedAt) =>
    onSaved({
      ...noteRef.current,
      title: saved.title,
      body: saved.body,
      commandId: saved.commandId.trim() || undefined,
      updatedAt,
    }),
  );

  function change(patch: Partial<Fields>): void {
    setFields((f) => ({ ...f, ...patch }));
    edit(patch);
  }

  const commandId = fields.commandId.trim();
  /** Ctrl+S (⌘S): save now rather than in 300 ms. */
  const saveKey = (event: KeyboardEvent): void => {
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 's') {
      event.preventDefault();
      void flush();
    }
  };

  async function openCommand(): Promise<void> {
    setOpening(true);
    setLinkError(undefined);
    try {
      void flush();
      const entry = await dispatcher.transcriptByCommand({ commandId });
      openTranscript(entry.caseId, entry.id);
    } catch (e) {
      setLinkError(errorText(e));
    } finally {
      setOpening(false);
    }
  }

  async function remove(): Promise<void> {
    stop();
    try {
      await dispatcher.deleteNote({ id: note.id });
      setDeleting(false);
      onDeleted(note.id);
    } catch (e) {
      setDeleteError(errorText(e));
    }
  }

  return (
    <div className="note-editor" data-testid="note-editor" data-note-id={note.id}>
      <div className="note-editor__head">
        <input
          className="input note-editor__title"
          placeholder="Title"
          aria-label="Note title"
          maxLength={200}
          data-testid="note-title"
          value={fields.title}
          onChange={(event) => change({ title: event.target.value })}
          onKeyDown={saveKey}
        />
        <SaveStateLine state={saveState} />
        <div className="segmented" role="group" aria-label="Edit or preview the note">
          <button
            type="button"
            className="segmented__item"
            aria-pressed={!preview}
            data-testid="note-mode-edit"
            onClick={() => setPreview(false)}
          >
            Edit
          </button>
          <button
            type="button"
            className="segmented__item"
            aria-pressed={preview}
            data-testid="note-mode-preview"
            onClick={() => setPreview(true)}
          >
            Preview
          </button>
        </div>
        <button
          type="button"
          className="button button--ghost button--small"
          data-testid="note-delete"
          onClick={() => setDeleting(true)}
        >
          Delete
        </button>
      </div>
      <div className="note-editor__links">
        <label className="toolbar__field">
          Command ID
          <input
            className="input mono note-editor__command"
            placeholder="link to a command…"
            aria-label="Linked command ID"
            maxLength={64}
            data-testid="note-command-id"
            value={fields.commandId}
            onChange={(event) => change({ commandId: event.target.value })}
          />
        </label>
        {commandId !== '' && (
          <button
            type="button"
            className="linklike"
            data-testid="note-open-command"
            disabled={opening}
            onClick={() => void openCommand()}
          >
            Open command transcript
          </button>
        )}
        {note.evidenceId && (
          <button
            type="button"
            className="linklike"
            data-testid="note-open-evidence"
            onClick={() => openEvidence(note.caseId, note.evidenceId)}
          >
            Open evidence
          </button>
        )}
        {linkError && (
          <span className="form-error" data-testid="note-link-error">
            {linkError}
          </span>
        )}
      </div>
      {preview ? (
        <div className="note-editor__preview" tabIndex={0}>
          <Markdown source={fields.body} testId="note-preview" />
        </div>
      ) : (
        <textarea
          className="input note-editor__body"
          placeholder="Findings, in markdown…"
          aria-label="Note (markdown)"
          spellCheck={false}
          maxLength={MAX_NOTE_CHARS}
          data-testid="note-body"
          value={fields.body}
          onChange={(event) => change({ body: event.target.value })}
          onKeyDown={saveKey}
          onBlur={() => void flush()}
        />
      )}
      {deleting && (
        <ConfirmDialog
          title={`Delete the note${note.title ? ` “${note.title}”` : ''}?`}
          confirmLabel="Delete"
          error={deleteError}
          testId="note-delete-dialog"
          onConfirm={() => void remove()}
          onCancel={() => {
            setDeleting(false);
            setDeleteError(undefined);
          }}
        >
          <p>The note leaves the case. Transcripts and evidence stay.</p>
        </ConfirmDialog>
      )}
    </div>
  );
}

function SaveStateLine({ state }: { state: SaveState }) {
  const instant = useInstant();
  const text =
    state.state === 'saved'
      ? `Saved ${instant(state.at)}`
      : state.state === 'saving'
        ? 'Saving…'
        : state.state === 'dirty'
          ? 'Unsaved changes'
          : `Not saved: ${state.error} (retrying)`;
  return (
    <span
      className={`note-editor__state ${state.state === 'error' ? 'form-error' : 'cell-dim'}`}
      data-testid="note-save-state"
      data-state={state.state}
      title={text}
    >
      {text}
    </span>
  );
}
