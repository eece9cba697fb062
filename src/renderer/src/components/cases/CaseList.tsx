/**
 * The case list: "New case" (the new case becomes the active one, and the list says so), and one row per
 * case (title, status, counts, last change, Active badge).
 */
import { useState, type FormEvent } from 'react';
import { dispatcher } from '../../state/dispatcher.js';
import { errorText, useCasesStore } from '../../state/cases-store.js';
import { Instant } from '../Instant.js';

export function CaseList() {
  const cases = useCasesStore((s) => s.cases);
  const loaded = useCasesStore((s) => s.loaded);
  const selected = useCasesStore((s) => s.caseId);
  const selectCase = useCasesStore((s) => s.selectCase);
  const [title, setTitle] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [created, setCreated] = useState<string | undefined>();

  async function create(event: FormEvent): Promise<void> {
    event.preventDefault();
    const t = title.trim();
    if (!t) return;
    setBusy(true);
    setError(undefined);
    setCreated(undefined);
    try {
      const view = await dispatcher.createCase({ title: t });
      setTitle('');
      setCreated(
        view.active
          ? `“${view.title}” is now the active case: commands and files from every console go to it.`
          : `“${view.title}” created.`,
      );
      const store = useCasesStore.getState();
      await store.reload();
      store.selectCase(view.id);
      store.setTab('notes');
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <aside className="cases__list" data-testid="case-list">
      <form className="cases__new" onSubmit={(event) => void create(event)}>
        <input
          className="input"
          placeholder="New case title…"
          aria-label="New case title"
          maxLength={200}
          data-testid="cases-new-title"
          value={title}
          onChange={(event) => setTitle(event.target.value)}
        />
        <button
          type="submit"
          className="button button--small"
          data-testid="cases-create"
          disabled={busy || title.trim() === ''}
        >
          New case
        </button>
      </form>
      {created && (
        <p className="cases__created" role="status" data-testid="cases-created-note">
          {created}
        </p>
      )}
      {error && (
        <p className="form-error" data-testid="cases-create-error">
          {error}
        </p>
      )}
      <ul className="cases__rows">
        {cases.map((c) => (
          <li key={c.id}>
            <button
              type="button"
              className="case-row"
              aria-current={c.id === selected ? 'true' : undefined}
              data-testid={`case-row-${c.id}`}
              data-case-id={c.id}
              data-title={c.title}
              data-active={c.active}
              data-status={c.status}
              onClick={() => selectCase(c.id)}
            >
              <span className="case-row__head">
                <span className="case-row__title ellipsis" title={c.title}>
                  {c.title}
                </span>
                {c.active && (
                  <span className="pill pill--ok" data-testid="case-active-badge">
                    Active
                  </span>
                )}
                {c.status === 'closed' && <span className="pill pill--off">closed</span>}
              </span>
              <span className="cell-dim">
                {c.counts.notes} notes · {c.counts.evidence} evidence · {c.counts.transcripts} commands
              </span>
              <span className="cell-dim">
                updated <Instant iso={c.updatedAt} />
              </span>
            </button>
          </li>
        ))}
        {loaded && cases.length === 0 && (
          <li className="cell-dim cases__empty" data-testid="cases-empty">
            No cases yet. Files pulled from a device and every console command go to the active case; one is opened for
            you when none is.
          </li>
        )}
      </ul>
    </aside>
  );
}
