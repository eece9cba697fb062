/**
 * A virtualised list with a fixed row height: only the rows in view (plus a small overscan) exist in the
 * DOM, whatever the number of rows. Rows not loaded yet render as placeholders; `onRange` says which rows
 * are in view so the caller can fetch them.
 */
import { useLayoutEffect, useRef, useState, type ReactNode } from 'react';

export interface WindowedListProps {
  count: number;
  rowHeight: number;
  overscan?: number;
  renderRow(index: number): ReactNode;
  onRange?(first: number, last: number): void;
  testId?: string;
  /** Changing it scrolls back to the top (new filters). */
  resetKey?: string;
  /** A row to bring into view when it changes (e.g. the entry a search result opened). */
  scrollToIndex?: number | undefined;
}

export function WindowedList({
  count,
  rowHeight,
  overscan = 8,
  renderRow,
  onRange,
  testId,
  resetKey,
  scrollToIndex,
}: WindowedListProps) {
  const viewport = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);

  useLayoutEffect(() => {
    const element = viewport.current;
    if (!element) return;
    setHeight(element.clientHeight);
    const observer = new ResizeObserver(() => setHeight(element.clientHeight));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  useLayoutEffect(() => {
    if (viewport.current) viewport.current.scrollTop = 0;
    setScrollTop(0);
  }, [resetKey]);

  useLayoutEffect(() => {
    const element = viewport.current;
    if (!element || scrollToIndex === undefined || scrollToIndex < 0) return;
    const top = scrollToIndex * rowHeight;
    if (top >= element.scrollTop && top + rowHeight <= element.scrollTop + element.clientHeight) return;
    element.scrollTop = Math.max(0, top - Math.floor(element.clientHeight / 3));
    setScrollTop(element.scrollTop);
  }, [scrollToIndex, rowHeight]);

  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(count - 1, Math.ceil((scrollTop + height) / rowHeight) + overscan);

  // Before paint: the rows' data is asked for in the same frame as the scroll.
  useLayoutEffect(() => {
    if (count > 0) onRange?.(first, last);
  }, [first, last, count, onRange]);

  const rows: ReactNode[] = [];
  for (let i = first; i <= last; i += 1) {
    rows.push(
      <div key={i} className="vlist__row" style={{ top: i * rowHeight, height: rowHeight }} data-index={i}>
        {renderRow(i)}
      </div>,
    );
  }
  return (
    <div
      ref={viewport}
      className="vlist"
      data-testid={testId}
      tabIndex={0}
      onScroll={(event) => setScrollTop(event.currentTarget.scrollTop)}
      onKeyDown={(event) => {
        const element = viewport.current;
        if (!element) return;
        if (event.key === 'PageDown') element.scrollTop += height - rowHeight;
        else if (event.key === 'PageUp') element.scrollTop -= height - rowHeight;
        else if (event.key === 'Home') element.scrollTop = 0;
        else if (event.key === 'End') element.scrollTop = count * rowHeight;
        else return;
        event.preventDefault();
      }}
    >
      <div className="vlist__spacer" style={{ height: count * rowHeight }}>
        {rows}
      </div>
    </div>
  );
}
