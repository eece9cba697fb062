/**
 * Search over the notes, transcripts, evidence names and saved console output of every case (lr:search:
 * FTS5 in main, plus a read of the saved output files). Results show kind, case, title and a snippet with
 * the matches highlighted; a click opens the note, the entry or the evidence item. The answer says what
 * was searched: a transcript keeps only the start of a long output, so "no match" alone would mislead.
 */
import { useEffect, useRef, useState } from 'react';
import type { SearchHit, SearchResult } from '../../../../shared/workstation/case-types.js';
import { dispatcher } from '../../state/dispatcher.js';
import { errorText, useCasesStore } from '../../state/cases-store.js';
import { Snippet } from './common.js';

const DEBOUNCE_MS = 200;
const HIT_LABEL: Record<SearchHit['kind'], string> = { note: 'note', transcript: 'command', evidence: 'evidence' };

export function SearchPanel() {
  const [text, setText] = useState('');
  const [result, setResult] = useState<SearchResult | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [searching, setSearching] = useState(false);
  const seq = useRef(0);
  const revision = useCasesStore((s) => s.revision);

  useEffect(() => {
    const query = text.trim();
    const mine = ++seq.current;
    if (!query) {
      setResult(undefined);
      setError(undefined);
      setSearching(false);
      return;
    }
    setSearching(true);
    const timer = setTimeout(() => {
      dispatcher
        .search({ text: query, limit: 100 })
        .then((r) => {
          if (mine !== seq.current) return;
          setResult(r);
          setError(undefined);
        })
        .catch((e: unknown) => mine === seq.current && setError(errorText(e)))
        .finally(() => mine === seq.current && setSearching(false));
    }, DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [text, revision]);

  function open(hit: SearchHit): void {
    const store = useCasesStore.getState();
    if (hit.kind === 'note') store.openNote(hit.caseId, hit.id);
    else if (hit.kind === 'evidence') store.openEvidence(hit.caseId, hit.id);
    else store.openTranscript(hit.caseId, hit.id);
  }

  return (
    <div className="case-search">
      <input
        className="input toolbar__search"
        type="search"
        placeholder="Search notes, transcripts and saved output of all cases…"
        aria-label="Search notes, transcripts, evidence names and saved output"
        maxLength={500}
        data-testid="search-input"
        value={text}
        onChange={(event) => setText(event.target.value)}
        onKeyDown={(event) => {
          if (event.key === 'Escape') setText('');
        }}
      />
      {text.trim() !== '' && (
        <section
          className="case-search__results"
          data-testid="search-results"
          data-state={searching ? 'searching' : error ? 'error' : 'done'}
          data-count={result?.hits.length ?? -1}
        >
          <div className="case-search__meta cell-dim">
            {error ? (
              <span className="form-error">{error}</span>
            ) : result ? (
              <span>
                <span data-testid="search-count">
                  {result.hits.length === 0
                    ? 'no match'
                    : `${result.hits.length}${result.hits.length >= 100 ? '+' : ''} matches`}{' '}
                  · {result.tookMs.toFixed(1)} ms
                </span>
                {result.covered && (
                  <span className="case-search__covered" data-testid="search-covered">
                    {' '}
                    · {result.covered}
                  </span>
                )}
              </span>
            ) : (
              'searching…'
            )}
            <span className="toolbar__spacer" />
            <button type="button" className="button button--ghost button--small" onClick={() => setText('')}>
              Clear
            </button>
          </div>
          <ul className="case-search__hits">
            {result?.hits.map((hit) => (
              <li key={`${hit.kind}:${hit.id}`}>
                <button
                  type="button"
                  className="case-search__hit"
                  data-testid="search-hit"
                  data-kind={hit.kind}
                  data-id={hit.id}
                  data-case-id={hit.caseId}
                  onClick={() => open(hit)}
                >
                  <span className="case-search__hit-head">
                    <span className={`pill ${hit.kind === 'note' ? 'pill--ok' : 'pill--off'}`}>
                      {HIT_LABEL[hit.kind]}
                    </span>
                    <span className="cell-dim ellipsis">{hit.caseTitle}</span>
                    <span className={`ellipsis ${hit.kind === 'note' ? 'cell-strong' : 'mono'}`}>
                      {hit.title || '(untitled)'}
                      {hit.line !== undefined && (
                        <span className="cell-dim"> line {hit.line.toLocaleString('en')}</span>
                      )}
                    </span>
                  </span>
                  <Snippet text={hit.snippet} />
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}
