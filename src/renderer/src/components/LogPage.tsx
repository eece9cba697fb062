/**
 * The command log viewer: every command of every session, newest first, filtered by device, user, status
 * and time, searched by text; a windowed list that loads 200-row pages as they come into view; a side
 * panel with the selected command's input and output, rendered as the console showed it (tables, pretty
 * JSON, a single record's fields), full width on demand and downloadable; CSV/JSON export of what the
 * filters select. Narrow windows drop the secondary columns (user, then duration, then device) first.
 */
import {
  Fragment,
  useCallback,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
  type KeyboardEvent,
} from 'react';
import type { LogFacets, LogFilter } from '../../../shared/workstation/ipc-contract.js';
import {
  JOB_STATUSES,
  type CommandLogRecord,
  type CommandLogSummary,
  type JobStatus,
} from '../../../shared/wire/protocol.js';
import { formatBytes, formatDuration } from '../../../shared/commands/format.js';
import { logOutputText, renderLogOutput } from '../../../shared/commands/log-output.js';
import { resolveTimeZone, wallTimeToIso } from '../../../shared/time-format.js';
import { dispatcher } from '../state/dispatcher.js';
import { useAppStore } from '../state/app-store.js';
import { downloadText } from './download.js';
import { Instant } from './Instant.js';
import { useInstant } from './time.js';
import { listKeyTarget } from './list-keys.js';
import { WindowedList } from './WindowedList.js';
import './pages.css';
import { describeError } from '../../../shared/errors.js';

const PAGE = 200;
const ROW_HEIGHT = 30;

interface Filters {
  device: string;
  user: string;
  status: string;
  since: string;
  until: string;
  text: string;
}

const NO_FILTERS: Filters = { device: '', user: '', status: '', since: '', until: '', text: '' };

/** `zone`: the from/to fields are wall times in the zone times are shown in (Settings), like the list. */
function toFilter(f: Filters, zone: string): LogFilter {
  const filter: LogFilter = {};
  if (f.device) filter.device = f.device;
  if (f.user) filter.user = f.user;
  if (f.status) filter.status = f.status as JobStatus;
  const since = wallTimeToIso(f.since, zone);
  const until = wallTimeToIso(f.until, zone);
  if (since) filter.since = since;
  if (until) filter.until = until;
  if (f.text.trim()) filter.text = f.text.trim();
  return filter;
}

/** ASCII case folding, as the service's LIKE does. */
const foldAscii = (text: string): string => text.replace(/[A-Z]/g, (c) => c.toLowerCase());

/**
 * Whether an entry still answers the filters (as the service decides it): a selection that no longer does is dropped.
 */
export function entryMatches(entry: CommandLogRecord, filter: LogFilter): boolean {
  if (filter.device && entry.deviceId !== filter.device) return false;
  if (filter.user && entry.user !== filter.user) return false;
  if (filter.status && entry.status !== filter.status) return false;
  if (filter.since && entry.startedAt < filter.since) return false;
  if (filter.until && entry.startedAt > filter.until) return false;
  if (filter.text) {
    const text = foldAscii(filter.text);
    if (
      entry.id !== filter.text &&
      ![entry.commandLine, entry.error ?? '', entry.output].some((field) => foldAscii(field).includes(text))
    )
      return false;
  }
  return true;
}

export function LogPage() {
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [facets, setFacets] = useState<LogFacets>({ users: [], devices: [] });
  // The rows shown: kept until the first page of new filters arrives (no flash of empty rows).
  const [data, setData] = useState<{
    gen: number;
    key: string;
    total: number | undefined;
    pages: ReadonlyMap<number, CommandLogSummary[]>;
  }>({
    gen: 0,
    key: '',
    total: undefined,
    pages: new Map(),
  });
  const [error, setError] = useState<string | undefined>();
  const [selected, setSelected] = useState<string | undefined>();
  /** The selected command, with its output (fetched once per selection). */
  const [entry, setEntry] = useState<CommandLogRecord | undefined>();
  const [wide, setWide] = useState(false);
  const [range, setRange] = useState<[number, number]>([0, 0]);
  const [refreshes, setRefreshes] = useState(0);
  const [exportNote, setExportNote] = useState<string | undefined>();
  /** The row the arrow keys last selected, brought into view. */
  const [keyIndex, setKeyIndex] = useState<number | undefined>();
  const generation = useRef(0);
  /** Pages asked for in the current generation (loaded or on their way). */
  const requested = useRef(new Set<number>());
  const zone = resolveTimeZone(useAppStore((state) => state.timeZone));
  const filter = useMemo(() => toFilter(filters, zone), [filters, zone]);
  const filterKey = JSON.stringify(filter);
  const requestKey = `${filterKey}#${refreshes}`;

  const loadPage = useCallback(
    async (page: number, gen: number) => {
      if (requested.current.has(page)) return;
      requested.current.add(page);
      try {
        const answer = await dispatcher.queryLog({ ...filter, offset: page * PAGE, limit: PAGE });
        if (gen !== generation.current) return;
        setData((previous) => ({
          gen,
          key: requestKey,
          total: answer.total,
          pages: new Map(previous.gen === gen ? previous.pages : []).set(page, answer.items),
        }));
        setError(undefined);
      } catch (e) {
        if (gen !== generation.current) return;
        requested.current.delete(page); // may be asked again
        setError(describeError(e));
      }
    },
    [filter, requestKey],
  );

  // New filters (or a refresh): start over from the first page (before paint: no frame lost).
  useLayoutEffect(() => {
    generation.current += 1;
    requested.current = new Set();
    void loadPage(0, generation.current);
  }, [requestKey, loadPage]);

  useEffect(() => {
    dispatcher
      .logFacets({})
      .then(setFacets)
      .catch(() => undefined);
  }, [refreshes]);

  // A selection the new filters exclude goes (the detail panel would otherwise show a command the list hides).
  useEffect(() => {
    if (entry && !entryMatches(entry, filter)) {
      setSelected(undefined);
      setEntry(undefined);
      setWide(false);
    }
  }, [entry, filter]);

  // The rows on screen answer the filters asked for (not the previous ones).
  const current = data.key === requestKey;
  const pages = data.pages;
  const total = data.total;
  const onRange = useCallback(
    (first: number, last: number) => {
      setRange([first, last]);
      if (!current) return;
      for (let page = Math.floor(first / PAGE); page <= Math.floor(last / PAGE); page += 1) {
        if (!pages.has(page)) void loadPage(page, data.gen);
      }
    },
    [pages, loadPage, current, data.gen],
  );

  const rowAt = (index: number): CommandLogSummary | undefined => pages.get(Math.floor(index / PAGE))?.[index % PAGE];
  const count = total ?? 0;
  const onListKey = (event: KeyboardEvent): void => {
    let current = -1;
    for (const [page, rows] of pages) {
      const at = rows.findIndex((row) => row.id === selected);
      if (at >= 0) current = page * PAGE + at;
    }
    const next = listKeyTarget(event.key, current, count);
    const row = next === undefined ? undefined : rowAt(next);
    if (next === undefined || !row) return;
    event.preventDefault();
    setSelected(row.id);
    setKeyIndex(next);
  };
  const ready =
    current &&
    total !== undefined &&
    (count === 0 || (rowAt(range[0]) !== undefined && rowAt(Math.min(range[1], count - 1)) !== undefined));

  async function exportAs(format: 'csv' | 'json'): Promise<void> {
    setExportNote('exporting…');
    try {
      const result = await dispatcher.exportLog({ format, filter });
      if (result.content !== undefined)
        downloadText(result.fileName, result.content, format === 'csv' ? 'text/csv' : 'application/json');
      setExportNote(result.path ? `${result.count} commands exported to ${result.path}` : 'export cancelled');
    } catch (e) {
      setExportNote(`export failed: ${describeError(e)}`);
    }
  }

  const set = (patch: Partial<Filters>): void => setFilters((f) => ({ ...f, ...patch }));

  return (
    <div className={`page page--fill log ${wide && selected ? 'log--wide' : ''}`} data-testid="section-log">
      <div className="toolbar toolbar--wrap">
        <input
          className="input toolbar__search"
          type="search"
          placeholder="Search command lines, output, errors, ids…"
          aria-label="Search the command log"
          data-testid="log-search"
          value={filters.text}
          onChange={(event) => set({ text: event.target.value })}
        />
        <select
          className="input"
          aria-label="Device"
          data-testid="log-filter-device"
          value={filters.device}
          onChange={(event) => set({ device: event.target.value })}
        >
          <option value="">All devices</option>
          {facets.devices.map((d) => (
            <option key={d.id} value={d.id}>
              {d.name}
            </option>
          ))}
        </select>
        <select
          className="input"
          aria-label="User"
          data-testid="log-filter-user"
          value={filters.user}
          onChange={(event) => set({ user: event.target.value })}
        >
          <option value="">All users</option>
          {facets.users.map((u) => (
            <option key={u} value={u}>
              {u}
            </option>
          ))}
        </select>
        <select
          className="input"
          aria-label="Status"
          data-testid="log-filter-status"
          value={filters.status}
          onChange={(event) => set({ status: event.target.value })}
        >
          <option value="">Any status</option>
          {JOB_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s.replace('_', ' ')}
            </option>
          ))}
        </select>
        <label className="toolbar__field" title={`A time in ${zone}, as the list shows them`}>
          from
          <input
            className="input"
            type="datetime-local"
            step="1"
            data-testid="log-filter-since"
            value={filters.since}
            onChange={(event) => set({ since: event.target.value })}
          />
        </label>
        <label className="toolbar__field" title={`A time in ${zone}, as the list shows them`}>
          to
          <input
            className="input"
            type="datetime-local"
            step="1"
            data-testid="log-filter-until"
            value={filters.until}
            onChange={(event) => set({ until: event.target.value })}
          />
          <span className="cell-dim" data-testid="log-filter-zone">
            {zone}
          </span>
        </label>
        <button type="button" className="button button--ghost button--small" onClick={() => setFilters(NO_FILTERS)}>
          Clear
        </button>
        <span className="toolbar__spacer" />
        <button
          type="button"
          className="button button--ghost button--small"
          data-testid="log-refresh"
          onClick={() => setRefreshes((n) => n + 1)}
        >
          Refresh
        </button>
        <button
          type="button"
          className="button button--small"
          data-testid="log-export-csv"
          onClick={() => void exportAs('csv')}
        >
          Export CSV
        </button>
        <button
          type="button"
          className="button button--small"
          data-testid="log-export-json"
          onClick={() => void exportAs('json')}
        >
          Export JSON
        </button>
      </div>
      <div className="toolbar__meta log__meta">
        <span data-testid="log-total">
          {total === undefined ? 'loading…' : `${total.toLocaleString('en')} commands`}
        </span>
        {exportNote && <span data-testid="log-export-note"> · {exportNote}</span>}
        {error && <span className="form-error"> · {error}</span>}
      </div>
      <div className="log__body">
        <div
          className="log__list"
          onKeyDown={onListKey}
          data-testid="log-list"
          data-total={total ?? -1}
          data-ready={ready}
          data-filter={filterKey}
          data-loaded={`${data.key}@${data.gen}`}
        >
          {current && total === 0 && (
            <div className="log__empty" data-testid="log-empty">
              {filterKey === '{}' ? (
                <p>No commands yet: every command run from a console (or with lr) is logged here.</p>
              ) : (
                <>
                  <p>No command matches these filters.</p>
                  <button
                    type="button"
                    className="button button--ghost button--small"
                    onClick={() => setFilters(NO_FILTERS)}
                  >
                    Clear the filters
                  </button>
                </>
              )}
            </div>
          )}
          <div className="log-row log-row--head" role="row">
            <span>Started</span>
            <span>Device</span>
            <span>User</span>
            <span>Command</span>
            <span>Status</span>
            <span className="num">Duration</span>
          </div>
          <WindowedList
            count={count}
            rowHeight={ROW_HEIGHT}
            onRange={onRange}
            testId="log-viewport"
            resetKey={`${data.gen}`}
            scrollToIndex={keyIndex}
            renderRow={(index) => {
              const row = rowAt(index);
              if (!row) return <div className="log-row log-row--placeholder">…</div>;
              return (
                <div
                  className="log-row"
                  role="row"
                  aria-selected={row.id === selected}
                  data-testid="log-row"
                  data-id={row.id}
                  data-status={row.status}
                  onClick={() => setSelected(row.id)}
                >
                  <Instant iso={row.startedAt} short className="mono cell-dim" />
                  <span className="ellipsis">{row.deviceName ?? '—'}</span>
                  <span className="ellipsis">{row.user}</span>
                  <span className="mono ellipsis" title={row.commandLine}>
                    {row.commandLine}
                  </span>
                  <span>
                    <StatusPill status={row.status} />
                  </span>
                  <span className="num mono">{row.durationMs === null ? '' : formatDuration(row.durationMs)}</span>
                </div>
              );
            }}
          />
        </div>
        <LogDetail
          id={selected}
          entry={entry?.id === selected ? entry : undefined}
          onLoaded={setEntry}
          wide={wide}
          onWide={setWide}
          onClose={() => {
            setSelected(undefined);
            setEntry(undefined);
            setWide(false);
          }}
        />
      </div>
    </div>
  );
}

function StatusPill({ status }: { status: JobStatus }) {
  const tone =
    status === 'completed'
      ? 'ok'
      : status === 'running' || status === 'pending'
        ? 'busy'
        : status === 'cancelled'
          ? 'off'
          : 'bad';
  return <span className={`pill pill--${tone}`}>{status.replace('_', ' ')}</span>;
}

interface LogDetailProps {
  id: string | undefined;
  entry: CommandLogRecord | undefined;
  onLoaded(entry: CommandLogRecord): void;
  wide: boolean;
  onWide(wide: boolean): void;
  onClose(): void;
}

function LogDetail({ id, entry, onLoaded, wide, onWide, onClose }: LogDetailProps) {
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    setError(undefined);
    if (!id) return;
    let current = true;
    dispatcher
      .logEntry({ id })
      .then((record) => current && onLoaded(record))
      .catch((e: unknown) => current && setError(describeError(e)));
    return () => {
      current = false;
    };
  }, [id, onLoaded]);
  const instant = useInstant();
  const parts = useMemo(
    () => (entry ? renderLogOutput(entry.commandLine, entry.output, instant) : []),
    [entry, instant],
  );
  if (!id) {
    return (
      <aside className="log__detail log__detail--empty" data-testid="log-detail">
        <p className="card__hint">Select a command to see its input and output.</p>
      </aside>
    );
  }
  return (
    <aside className="log__detail" data-testid="log-detail" data-id={id} data-wide={wide}>
      <div className="log__detail-head">
        <h2 className="card__title mono">{id}</h2>
        <span className="toolbar__spacer" />
        <button
          type="button"
          className="button button--ghost button--small"
          data-testid="log-detail-download"
          disabled={!entry}
          title="Download the output as shown here"
          onClick={() => entry && downloadText(`${entry.id}-output.txt`, logOutputText(parts), 'text/plain')}
        >
          Download
        </button>
        <button
          type="button"
          className="button button--ghost button--small"
          data-testid="log-detail-wide"
          aria-pressed={wide}
          onClick={() => onWide(!wide)}
        >
          {wide ? 'Back to the list' : 'Full width'}
        </button>
        <button
          type="button"
          className="button button--ghost button--small"
          onClick={onClose}
          aria-label="Close the details"
        >
          ×
        </button>
      </div>
      {error && <p className="form-error">{error}</p>}
      {entry && (
        <>
          <dl className="facts">
            <dt>Status</dt>
            <dd>
              <StatusPill status={entry.status} />
              {entry.error && <span className="form-error"> {entry.error}</span>}
            </dd>
            <dt>User</dt>
            <dd>{entry.user}</dd>
            <dt>Device</dt>
            <dd>{entry.deviceName ?? '—'}</dd>
            <dt>Session</dt>
            <dd className="mono">{entry.sessionId ?? '—'}</dd>
            <dt>Started</dt>
            <dd>
              <Instant iso={entry.startedAt} />
            </dd>
            <dt>Duration</dt>
            <dd>{entry.durationMs === null ? '—' : formatDuration(entry.durationMs)}</dd>
            <dt>Output</dt>
            <dd>
              {formatBytes(entry.outputSize)}
              {entry.outputTruncated ? ' (truncated in the log)' : ''}
            </dd>
            {entry.outputSha256 && (
              <>
                <dt>SHA-256</dt>
                <dd className="mono ellipsis" title={entry.outputSha256}>
                  {entry.outputSha256}
                </dd>
              </>
            )}
          </dl>
          <h3 className="log__detail-label">Input</h3>
          <pre className="log__pre" data-testid="log-detail-input">
            {entry.commandLine}
          </pre>
          <h3 className="log__detail-label">Output</h3>
          <div className="log__output" data-testid="log-detail-output">
            {parts.length === 0 && <pre className="log__pre">(no output)</pre>}
            {parts.map((part, i) =>
              part.kind === 'fields' ? (
                <dl key={i} className="facts log__fields" data-testid="log-detail-fields">
                  {part.fields.map(([key, value]) => (
                    <Fragment key={key}>
                      <dt className="mono">{key}</dt>
                      <dd className="mono break">{value}</dd>
                    </Fragment>
                  ))}
                </dl>
              ) : (
                <pre key={i} className="log__pre log__pre--table">
                  {part.text}
                </pre>
              ),
            )}
            {entry.outputTruncated && (
              <p className="card__hint">
                The log keeps only the first part of this output ({formatBytes(entry.outputSize)} in all).
              </p>
            )}
          </div>
        </>
      )}
    </aside>
  );
}
