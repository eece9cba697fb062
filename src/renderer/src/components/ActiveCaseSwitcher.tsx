/**
 * The console header's "which case am I in?": the active case (where commands and pulled files of every
 * console go), switchable in place, with a link to open it on the Cases page.
 */
import { useEffect, useState } from 'react';
import { dispatcher } from '../state/dispatcher.js';
import { useAppStore } from '../state/app-store.js';
import { errorText, useCasesStore } from '../state/cases-store.js';
import './pages.css';

export function ActiveCaseSwitcher() {
  const cases = useCasesStore((s) => s.cases);
  const loaded = useCasesStore((s) => s.loaded);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();

  useEffect(() => {
    if (!useCasesStore.getState().loaded) void useCasesStore.getState().reload();
  }, []);

  const active = cases.find((c) => c.active);
  const choices = cases.filter((c) => c.status !== 'closed' || c.active);

  async function activate(id: string): Promise<void> {
    setBusy(true);
    setError(undefined);
    try {
      await dispatcher.switchActiveCase({ id });
      useCasesStore.getState().changed();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  function open(): void {
    if (active) useCasesStore.getState().selectCase(active.id);
    useAppStore.getState().showSection('cases');
  }

  return (
    <span
      className="case-switch"
      data-testid="active-case"
      data-case-id={active?.id ?? ''}
      data-title={active?.title ?? ''}
    >
      <span className="cell-dim">case </span>
      <select
        className="input input--small case-switch__select"
        aria-label="Active case: where this console's commands and files are recorded"
        title={
          active
            ? `${active.title}: commands and files pulled from every console are recorded in this case`
            : 'Commands and files pulled from every console are recorded in the active case'
        }
        data-testid="active-case-select"
        disabled={busy || !loaded}
        value={active?.id ?? ''}
        onChange={(event) => event.target.value && void activate(event.target.value)}
      >
        {!active && <option value="">{loaded ? 'none: one opens with the first command' : 'loading…'}</option>}
        {choices.map((c) => (
          <option key={c.id} value={c.id}>
            {c.title}
          </option>
        ))}
      </select>
      <button type="button" className="linklike" data-testid="active-case-open" onClick={open}>
        open
      </button>
      {error && <span className="form-error">{error}</span>}
    </span>
  );
}
