/** A case's notes: the list ("New note") and the editor of the selected one. */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { NoteView } from '../../../../shared/workstation/case-types.js';
import { dispatcher } from '../../state/dispatcher.js';
import { errorText, useCasesStore } from '../../state/cases-store.js';
import { Instant } from '../Instant.js';
import { NoteEditor } from './NoteEditor.js';

export function NotesTab({ caseId }: { caseId: string }) {
  const revision = useCasesStore((s) => s.revision);
  const noteId = useCasesStore((s) => s.noteId);
  const openNote = useCasesStore((s) => s.openNote);
  const [notes, setNotes] = useState<NoteView[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [creating, setCreating] = useState(false);
  const seq = useRef(0);

  const load = useCallback(async (): Promise<NoteView[] | undefined> => {
    const mine = ++seq.current;
    try {
      const list = await dispatcher.caseNotes({ caseId });
      if (mine !== seq.current) return undefined;
      setNotes(list);
      setError(undefined);
      return list;
    } catch (e) {
      if (mine === seq.current) setError(errorText(e));
      return undefined;
    }
  }, [caseId]);

  useEffect(() => {
    void load();
  }, [load, revision]);

  // A note opened from elsewhere (search, "Add note") that this list does not hold yet.
  const selected = notes?.find((n) => n.id === noteId);
  const missing = notes !== undefined && noteId !== undefined && !selected;
  useEffect(() => {
    if (!missing) return;
    void load().then((list) => {
      if (list && !list.some((n) => n.id === noteId)) openNote(caseId, undefined);
    });
  }, [missing, load, noteId, caseId, openNote]);

  // Nothing chosen: the first note.
  useEffect(() => {
    if (noteId === undefined && notes && notes[0]) openNote(caseId, notes[0].id);
  }, [noteId, notes, caseId, openNote]);

  async function create(): Promise<void> {
    setCreating(true);
    setError(undefined);
    try {
      const note = await dispatcher.createNote({ caseId, title: '', body: '' });
      setNotes((list) => [...(list ?? []), note]);
      openNote(caseId, note.id);
      void useCasesStore.getState().reload();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setCreating(false);
    }
  }

  const onSaved = useCallback(
    (saved: NoteView) => setNotes((list) => list?.map((n) => (n.id === saved.id ? saved : n))),
    [],
  );
  const onDeleted = useCallback(
    (id: string) => {
      setNotes((list) => list?.filter((n) => n.id !== id));
      openNote(caseId, undefined);
      void useCasesStore.getState().reload();
    },
    [caseId, openNote],
  );

  return (
    <div className="notes" data-testid="notes-tab">
      <div className="notes__list">
        <button
          type="button"
          className="button button--small"
          data-testid="note-new"
          disabled={creating}
          onClick={() => void create()}
        >
          New note
        </button>
        {error && <p className="form-error">{error}</p>}
        <ul className="notes__items">
          {notes?.map((n) => (
            <li key={n.id}>
              <button
                type="button"
                className="notes__item"
                aria-current={n.id === noteId ? 'true' : undefined}
                data-testid={`note-item-${n.id}`}
                data-note-id={n.id}
                onClick={() => openNote(caseId, n.id)}
              >
                <span className={`ellipsis ${n.title ? 'cell-strong' : 'cell-dim'}`}>
                  {n.title || firstLine(n.body) || '(untitled)'}
                </span>
                <span className="cell-dim">
                  <Instant iso={n.updatedAt} />
                  {n.commandId && <span className="mono"> · {n.commandId}</span>}
                </span>
              </button>
            </li>
          ))}
          {notes?.length === 0 && <li className="cell-dim">No notes yet.</li>}
        </ul>
      </div>
      {selected ? (
        <NoteEditor key={selected.id} note={selected} onSaved={onSaved} onDeleted={onDeleted} />
      ) : (
        <div className="note-editor note-editor--empty">
          <p className="card__hint">{missing ? 'Loading the note…' : 'Select a note, or write a new one.'}</p>
        </div>
      )}
    </div>
  );
}

function firstLine(text: string): string {
  return text.trimStart().split('\n', 1)[0]?.slice(0, 80) ?? '';
}
