/**
 * Ctrl+F in a console: a search bar over its terminal (xterm's search addon). Enter / F3 find the next
 * match, Shift+Enter / Shift+F3 the previous one; Escape closes the bar and gives the focus back.
 */
import { useEffect, useRef, useState } from 'react';
import { getTerminal } from './registry.js';

export function SearchBar({ tabId }: { tabId: string }) {
  const input = useRef<HTMLInputElement>(null);
  const [text, setText] = useState('');
  const [result, setResult] = useState<{ index: number; count: number } | undefined>();
  const [found, setFound] = useState<boolean | undefined>();
  const terminal = getTerminal(tabId);

  useEffect(() => {
    const focus = (): void => {
      input.current?.focus();
      input.current?.select();
    };
    focus();
    const unsubscribe = [terminal?.onSearchResults(setResult), terminal?.onSearchRequest(focus)];
    return () => {
      for (const stop of unsubscribe) stop?.();
    };
  }, [terminal]);

  if (!terminal) return null;
  const find = (direction: 'next' | 'previous', value = text, incremental = false): void => {
    setFound(value === '' ? undefined : terminal.find(value, direction, incremental));
  };

  let status = '';
  if (found === false) status = 'no match';
  else if (found && result && result.count > 0)
    status = result.index >= 0 ? `${result.index + 1} of ${result.count}` : `${result.count}+ matches`;

  return (
    <div className="console-search" role="search" data-testid="console-search">
      <input
        ref={input}
        className="input console-search__input"
        type="search"
        aria-label="Search the console output"
        placeholder="Search the output"
        data-testid="console-search-input"
        value={text}
        onChange={(event) => {
          setText(event.target.value);
          find('next', event.target.value, true);
        }}
        onKeyDown={(event) => {
          if (event.key === 'Escape') {
            event.preventDefault();
            terminal.closeSearch();
          } else if (event.key === 'Enter' || event.key === 'F3') {
            event.preventDefault();
            find(event.shiftKey ? 'previous' : 'next');
          }
        }}
      />
      <span className="console-search__status cell-dim" data-testid="console-search-status" aria-live="polite">
        {status}
      </span>
      <button
        type="button"
        className="button button--ghost button--small"
        aria-label="Previous match (Shift+Enter)"
        title="Previous match (Shift+Enter)"
        data-testid="console-search-previous"
        onClick={() => find('previous')}
      >
        ↑
      </button>
      <button
        type="button"
        className="button button--ghost button--small"
        aria-label="Next match (Enter)"
        title="Next match (Enter)"
        data-testid="console-search-next"
        onClick={() => find('next')}
      >
        ↓
      </button>
      <button
        type="button"
        className="button button--ghost button--small"
        aria-label="Close the search (Escape)"
        title="Close (Escape)"
        data-testid="console-search-close"
        onClick={() => terminal.closeSearch()}
      >
        ×
      </button>
    </div>
  );
}
