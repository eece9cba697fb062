/**
 * Full-text search over the notes and transcripts of every case (lr:search, FTS5 in main). Results show
 * kind, case, title and a snippet with the matches highlighted; a click opens the note or the entry.
 */
import { useEffect, useRef, useState } from 'react';
import type { SearchHit, SearchResult } from '../../../../shared/case-types.js';
import { call } from '../../api/call.js';
import { errorText, useCasesStore } from '../../state/cases-store.js';
import { Snippet } from './common.js';

const DEBOUNCE_MS = 200;

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
      call('lr:search', { text: query, limit: 100 })
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
    else store.openTranscript(hit.caseId, hit.id);
  }

  return (
    <div className="case-search">
      <input
        className="input toolbar__search"
        type="search"
        placeholder="Search notes and transcripts of all cases…"
        aria-label="Search notes and transcripts"
        maxLength={500}
        data-testid="search-input"
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') setText('');
        }}
      />
      {text.trim() !== '' && (
        <section className="case-search__results" data-testid="search-results" data-state={searching ? 'searching' : error ? 'error' : 'done'} data-count={result?.hits.length ?? -1}>
          <div className="case-search__meta cell-dim">
            {error ? (
              <span className="form-error">{error}</span>
            ) : result ? (
              <span data-testid="search-count">
                {result.hits.length === 0 ? 'no match' : `${result.hits.length}${result.hits.length >= 100 ? '+' : ''} matches`} · {result.tookMs.toFixed(1)} ms
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
                    <span className={`pill ${hit.kind === 'note' ? 'pill--ok' : 'pill--off'}`}>{hit.kind === 'note' ? 'note' : 'command'}</span>
                    <span className="cell-dim ellipsis">{hit.caseTitle}</span>
                    <span className={`ellipsis ${hit.kind === 'transcript' ? 'mono' : 'cell-strong'}`}>{hit.title || '(untitled)'}</span>
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
