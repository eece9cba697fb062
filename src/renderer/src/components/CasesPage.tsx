/**
 * Cases: local to this workstation (SQLite + the evidence store in main), usable with no service at all.
 * Search across every case, import of a case zip, the case list, and the selected case's notes,
 * transcripts and evidence.
 */
import { useEffect } from 'react';
import { useAppStore } from '../state/app-store.js';
import { useCasesStore } from '../state/cases-store.js';
import { CaseDetail } from './cases/CaseDetail.js';
import { CaseList } from './cases/CaseList.js';
import { ImportControl } from './cases/ImportControl.js';
import { SearchPanel } from './cases/SearchPanel.js';
import './pages.css';

export function CasesPage() {
  const workspace = useAppStore((s) => s.workspace);
  const error = useCasesStore((s) => s.error);

  useEffect(() => {
    void useCasesStore.getState().reload();
  }, []);

  return (
    <div className="page page--fill cases" data-testid="section-cases">
      {workspace?.state === 'unreachable' && (
        <p className="banner banner--warn page__banner" data-testid="cases-offline">
          The service is unreachable (retrying): cases, notes, transcripts and evidence are all on this workstation and
          work offline.
        </p>
      )}
      <div className="toolbar toolbar--wrap cases__toolbar">
        <SearchPanel />
        <span className="toolbar__spacer" />
        <ImportControl />
      </div>
      {error && (
        <p className="form-error" data-testid="cases-error">
          {error}
        </p>
      )}
      <div className="cases__body">
        <CaseList />
        <CaseDetail />
      </div>
    </div>
  );
}
