/**
 * The Batch page: batches (one command line over many devices, started from Devices → "Run on selected" or
 * with `lr batch`), newest first; and one batch: a row per device (status with its note, duration, rows,
 * step errors, pulled files with their SHA-256) that updates every second while the batch runs, Cancel,
 * the merged results (every device's records, a `device` column) in a windowed table with a device filter,
 * Export CSV/JSON (like the Log page), and Save to case. A batch that ends while shown here goes into the
 * active case by itself.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import {
  isFinalTarget,
  type BatchRecord,
  type BatchResults,
  type BatchStatus,
  type BatchSummary,
  type BatchTargetRecord,
  type BatchTargetStatus,
} from '../../../shared/wire/batch.js';
import { formatBytes, formatDuration } from '../../../shared/commands/format.js';
import { MAX_BATCH_TABLE_ROWS } from '../../../shared/workstation/ipc-contract.js';
import { dispatcher } from '../state/dispatcher.js';
import { useAppStore } from '../state/app-store.js';
import { ConfirmDialog } from './ConfirmDialog.js';
import { downloadText } from './download.js';
import { Instant } from './Instant.js';
import { WindowedList } from './WindowedList.js';
import './batches.css';
import { describeError } from '../../../shared/errors.js';

/** How often a running batch is asked again while it is shown. */
const POLL_MS = 1_000;
const LIST_POLL_MS = 3_000;
const ROW_HEIGHT = 28;

const message = (e: unknown): string => describeError(e);

export function BatchesPage() {
  const openBatch = useAppStore((state) => state.openBatch);
  return openBatch ? <BatchView key={openBatch} id={openBatch} /> : <BatchList />;
}

// ---------------------------------------------------------------------------------------------------------
// The list
// ---------------------------------------------------------------------------------------------------------

function BatchList() {
  const [items, setItems] = useState<BatchSummary[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [refreshes, setRefreshes] = useState(0);
  const anyRunning = items?.some((b) => b.status === 'running') ?? false;

  useEffect(() => {
    let current = true;
    const load = (): void => {
      dispatcher.listBatches({}).then(
        (answer) => {
          if (!current) return;
          setItems(answer.items);
          setError(undefined);
        },
        (e: unknown) => current && setError(message(e)),
      );
    };
    load();
    const timer = anyRunning ? setInterval(load, LIST_POLL_MS) : undefined;
    return () => {
      current = false;
      if (timer) clearInterval(timer);
    };
  }, [refreshes, anyRunning]);

  return (
    <div className="page batches" data-testid="section-batches">
      <div className="toolbar">
        <span className="toolbar__meta" data-testid="batch-count">
          {items === undefined ? 'loading…' : `${items.length} ${items.length === 1 ? 'batch' : 'batches'}`}
        </span>
        {error && <span className="form-error">{error}</span>}
        <span className="toolbar__spacer" />
        <button type="button" className="button button--ghost button--small" onClick={() => setRefreshes((n) => n + 1)}>
          Refresh
        </button>
      </div>
      <div className="table-wrap">
        <table className="table batches__list" data-testid="batch-list">
          <thead>
            <tr>
              <th>Status</th>
              <th>Command</th>
              <th>Created by</th>
              <th>When</th>
              <th>Devices</th>
            </tr>
          </thead>
          <tbody>
            {items?.map((b) => (
              <tr
                key={b.id}
                className="batches__item"
                data-testid="batch-item"
                data-id={b.id}
                data-status={b.status}
                tabIndex={0}
                onClick={() => useAppStore.getState().showBatch(b.id)}
                onKeyDown={(event) => event.key === 'Enter' && useAppStore.getState().showBatch(b.id)}
              >
                <td>
                  <BatchStatusPill status={b.status} />
                  {b.kind === 'machineaction' && <div className="cell-dim">API action</div>}
                </td>
                <td>
                  <div className="mono batches__command" title={b.commands.join('\n')}>
                    {b.commands.join(' ; ')}
                  </div>
                  {b.comment && <div className="cell-dim ellipsis">{b.comment}</div>}
                </td>
                <td>{b.createdBy}</td>
                <td>
                  <Instant iso={b.createdAt} short className="cell-dim" />
                </td>
                <td>
                  <CountsLine counts={b.counts} />
                </td>
              </tr>
            ))}
            {items?.length === 0 && (
              <tr>
                <td colSpan={5} className="cell-dim">
                  No batches yet: tick devices on the Devices page and choose Run on selected.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </div>
  );
}

// ---------------------------------------------------------------------------------------------------------
// One batch
// ---------------------------------------------------------------------------------------------------------

function BatchView({ id }: { id: string }) {
  const [batch, setBatch] = useState<BatchRecord | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [device, setDevice] = useState('');
  const [results, setResults] = useState<{ key: string; value: BatchResults } | undefined>();
  const [resultsError, setResultsError] = useState<string | undefined>();
  const [note, setNote] = useState<string | undefined>();
  const [confirmCancel, setConfirmCancel] = useState(false);
  const [cancelling, setCancelling] = useState(false);
  const [saving, setSaving] = useState(false);
  /** Cancel next to the save's progress note: main stops the downloads and stores nothing more. */
  const cancelSave = useRef<AbortController | undefined>(undefined);
  /** The batch was seen running here: when it ends, its output goes to the case by itself. */
  const seenRunning = useRef(false);
  const running = batch === undefined || batch.status === 'running';

  // Every second while it runs and this page shows it; never again once it is final or the page is left.
  useEffect(() => {
    if (!running) return;
    let current = true;
    let busy = false;
    const load = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      try {
        const record = await dispatcher.batch({ id });
        if (!current) return;
        setBatch(record);
        setError(undefined);
      } catch (e) {
        if (current) setError(message(e));
      } finally {
        busy = false;
      }
    };
    void load();
    const timer = setInterval(() => void load(), POLL_MS);
    return () => {
      current = false;
      clearInterval(timer);
    };
  }, [id, running]);

  const saveToCase = useCallback(
    async (automatic: boolean): Promise<void> => {
      setSaving(true);
      setNote(automatic ? 'the batch ended: saving its output to the active case…' : 'saving to the active case…');
      const controller = new AbortController();
      cancelSave.current = controller;
      try {
        const saved = await dispatcher.saveBatchToCase({ id }, controller.signal);
        setNote(
          saved.added
            ? `${automatic ? 'The batch ended: saved' : 'Saved'} to case “${saved.caseTitle}”: ${saved.evidence.length} items (results CSV and JSON${saved.evidence.length > 2 ? `, ${saved.evidence.length - 2} pulled files` : ''}) and a note`
            : `Already in case “${saved.caseTitle}” (${saved.evidence.length} items)`,
        );
      } catch (e) {
        setNote(`not saved to the case: ${message(e)}`);
      } finally {
        cancelSave.current = undefined;
        setSaving(false);
      }
    },
    [id],
  );

  useEffect(() => {
    if (!batch) return;
    if (batch.status === 'running') seenRunning.current = true;
    else if (seenRunning.current) {
      seenRunning.current = false;
      void saveToCase(true);
    }
  }, [batch, saveToCase]);

  // The merged table: asked again when a device's row count or the batch's status moves, or the filter changes.
  const rowsKey = batch ? `${batch.status}:${batch.targets.map((t) => `${t.rows}/${t.status}`).join(',')}` : '';
  const resultsKey = `${device}#${rowsKey}`;
  useEffect(() => {
    if (!rowsKey) return;
    let current = true;
    dispatcher.batchResults({ id, ...(device ? { device } : {}), limit: MAX_BATCH_TABLE_ROWS }).then(
      (value) => {
        if (!current) return;
        setResults({ key: resultsKey, value });
        setResultsError(undefined);
      },
      (e: unknown) => current && setResultsError(message(e)),
    );
    return () => {
      current = false;
    };
  }, [id, device, rowsKey, resultsKey]);

  async function cancel(): Promise<void> {
    setCancelling(true);
    try {
      setBatch(await dispatcher.cancelBatch({ id }));
      setConfirmCancel(false);
      setNote('cancelled: no device starts anything more for this batch');
    } catch (e) {
      setNote(`not cancelled: ${message(e)}`);
      setConfirmCancel(false);
    } finally {
      setCancelling(false);
    }
  }

  async function exportAs(format: 'csv' | 'json'): Promise<void> {
    setNote('exporting…');
    try {
      const result = await dispatcher.exportBatch({ id, format, ...(device ? { device } : {}) });
      if (result.content !== undefined)
        downloadText(result.fileName, result.content, format === 'csv' ? 'text/csv' : 'application/json');
      setNote(result.path ? `${result.count} rows exported to ${result.path}` : 'export cancelled');
    } catch (e) {
      setNote(`export failed: ${message(e)}`);
    }
  }

  const totalRows = batch?.targets.reduce((n, t) => n + t.rows, 0) ?? 0;
  const filteredTarget = batch?.targets.find((t) => t.deviceId === device);
  const expected = device ? (filteredTarget?.rows ?? 0) : totalRows;

  return (
    <div
      className="page page--fill batch"
      data-testid="section-batch"
      data-batch-id={id}
      data-status={batch?.status ?? 'loading'}
    >
      <div className="toolbar toolbar--wrap">
        <button
          type="button"
          className="button button--ghost button--small"
          data-testid="batch-back"
          onClick={() => useAppStore.getState().showBatch(undefined)}
        >
          ← All batches
        </button>
        <h2 className="batch__title">
          Batch <span className="mono">{id}</span>
        </h2>
        {batch && <BatchStatusPill status={batch.status} testId="batch-status" />}
        <span className="toolbar__spacer" />
        <button
          type="button"
          className="button button--small"
          data-testid="batch-save-to-case"
          disabled={!batch || running || saving}
          title={running ? 'When the batch ends' : 'The merged results and every pulled file, into the active case'}
          onClick={() => void saveToCase(false)}
        >
          Save to case
        </button>
        <button
          type="button"
          className="button button--small"
          data-testid="batch-export-csv"
          disabled={!batch}
          onClick={() => void exportAs('csv')}
        >
          Export CSV
        </button>
        <button
          type="button"
          className="button button--small"
          data-testid="batch-export-json"
          disabled={!batch}
          onClick={() => void exportAs('json')}
        >
          Export JSON
        </button>
        <button
          type="button"
          className="button button--danger button--small"
          data-testid="batch-cancel"
          disabled={!batch || !running}
          onClick={() => setConfirmCancel(true)}
        >
          Cancel batch
        </button>
      </div>
      {batch && (
        <p className="batch__facts toolbar__meta">
          <span className="mono batch__command" title={batch.commands.join('\n')} data-testid="batch-command">
            {batch.commands.join(' ; ')}
          </span>
          <span>
            {' '}
            · by {batch.createdBy} · <Instant iso={batch.createdAt} short /> · <CountsLine counts={batch.counts} /> · at
            most {batch.concurrency} at once · waits until <Instant iso={batch.expiresAt} short />
            {batch.cancelledBy && ` · cancelled by ${batch.cancelledBy}`}
            {batch.comment && ` · ${batch.comment}`}
          </span>
        </p>
      )}
      {error && <p className="form-error">{error}</p>}
      {note && (
        <p className="batch__note" data-testid="batch-note">
          {note}
        </p>
      )}
      {saving && (
        <button
          type="button"
          className="button button--ghost button--small"
          data-testid="cancel-save-to-case"
          onClick={() => cancelSave.current?.abort()}
        >
          Cancel
        </button>
      )}
      {confirmCancel && batch && (
        <ConfirmDialog
          title="Cancel this batch?"
          confirmLabel="Cancel the batch"
          busy={cancelling}
          testId="batch-cancel-dialog"
          onConfirm={() => void cancel()}
          onCancel={() => setConfirmCancel(false)}
        >
          <p>
            Commands running now are cancelled on their devices and queued devices never start. What already completed
            stays, with its results. {batch.counts.running} running, {batch.counts.queued} queued.
          </p>
        </ConfirmDialog>
      )}
      {batch && <TargetTable targets={batch.targets} />}
      <div className="toolbar batch__results-bar">
        <h3 className="batch__section">Results</h3>
        <select
          className="input"
          aria-label="Device"
          data-testid="batch-filter-device"
          value={device}
          onChange={(event) => setDevice(event.target.value)}
        >
          <option value="">All devices</option>
          {batch?.targets.map((t) => (
            <option key={t.deviceId} value={t.deviceId}>
              {t.deviceName}
            </option>
          ))}
        </select>
        <span className="toolbar__meta" data-testid="batch-results-count">
          {results ? `${results.value.rows.length.toLocaleString('en')} rows` : 'loading…'}
          {results &&
            expected > results.value.rows.length &&
            ` of ${expected.toLocaleString('en')} (Export for the rest)`}
          {results &&
            results.value.rows.length > 0 &&
            ` · ${results.value.columns.length} columns${results.value.columns.length > 7 ? ' (scroll sideways for more)' : ''}`}
          {results &&
            results.value.truncated.length > 0 &&
            ` · cut at the service's limit for ${results.value.truncated.join(', ')}`}
        </span>
        {resultsError && <span className="form-error">{resultsError}</span>}
      </div>
      <MergedTable results={results?.value} current={results?.key === resultsKey} />
    </div>
  );
}

function TargetTable({ targets }: { targets: readonly BatchTargetRecord[] }) {
  return (
    <div className="table-wrap batch__targets">
      <table className="table batch__target-table" data-testid="batch-targets">
        <colgroup>
          <col className="batch__col-device" />
          <col className="batch__col-status" />
          <col className="batch__col-duration" />
          <col className="batch__col-rows" />
          <col />
        </colgroup>
        <thead>
          <tr>
            <th>Device</th>
            <th>Status</th>
            <th className="num">Duration</th>
            <th className="num">Rows</th>
            <th>Errors and files</th>
          </tr>
        </thead>
        <tbody>
          {targets.map((t) => {
            const errors = t.steps.filter((s) => s.error);
            const files = t.steps.filter((s) => s.file);
            return (
              <tr key={t.deviceId} data-testid={`batch-target-${t.deviceName}`} data-status={t.status}>
                <td className="cell-strong ellipsis" title={t.deviceId}>
                  {t.deviceName}
                </td>
                <td>
                  <TargetStatusPill status={t.status} />
                  {t.note && (
                    <div className="cell-dim batch__target-note" data-testid="batch-target-note" title={t.note}>
                      {t.note}
                    </div>
                  )}
                </td>
                <td className="num mono">
                  {t.durationMs === undefined ? (
                    t.status === 'running' && t.startedAt ? (
                      <Running since={t.startedAt} />
                    ) : (
                      '—'
                    )
                  ) : (
                    formatDuration(t.durationMs)
                  )}
                </td>
                <td className="num mono" data-testid="batch-target-rows">
                  {t.rows.toLocaleString('en')}
                </td>
                <td className="batch__target-detail">
                  {errors.map((s) => (
                    <div key={`e${s.index}`} className="form-error batch__step-error" title={s.line}>
                      step {s.index} ({s.status}): {s.error}
                    </div>
                  ))}
                  {files.map((s) =>
                    s.file ? (
                      <div key={`f${s.index}`} className="batch__file" data-testid="batch-file">
                        <span className="mono">{s.file.name}</span>{' '}
                        <span className="cell-dim">{formatBytes(s.file.size)}</span>{' '}
                        <span className="mono cell-dim batch__sha" title="SHA-256">
                          {s.file.sha256}
                        </span>
                      </div>
                    ) : null,
                  )}
                  {errors.length === 0 && files.length === 0 && (
                    <span className="cell-dim">{isFinalTarget(t.status) ? '—' : ''}</span>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** The merged records, windowed (a batch over many devices can bring hundreds of thousands of rows). */
function MergedTable({ results, current }: { results: BatchResults | undefined; current: boolean }) {
  const columns = results?.columns ?? [];
  const template = useMemo(
    () => columns.map((c) => (c === 'device' ? '150px' : c === 'step' ? '48px' : 'minmax(130px, 1fr)')).join(' '),
    [columns],
  );
  const minWidth = columns.reduce((n, c) => n + (c === 'device' ? 150 : c === 'step' ? 48 : 130) + 10, 24);
  const rows = results?.rows ?? [];
  return (
    <div
      className="batch__merged"
      data-testid="batch-results"
      data-ready={results !== undefined && current}
      data-rows={rows.length}
    >
      {results && rows.length === 0 && <p className="card__hint batch__empty">No records yet{current ? '' : '…'}.</p>}
      {rows.length > 0 && (
        <div className="batch__grid" style={{ minWidth }}>
          <div className="batch-row batch-row--head" role="row" style={{ gridTemplateColumns: template }}>
            {columns.map((c) => (
              <span key={c} className="ellipsis" title={c}>
                {c}
              </span>
            ))}
          </div>
          <WindowedList
            count={rows.length}
            rowHeight={ROW_HEIGHT}
            testId="batch-results-viewport"
            renderRow={(index) => {
              const row = rows[index];
              if (!row) return null;
              return (
                <div
                  className="batch-row"
                  role="row"
                  data-testid="batch-result-row"
                  data-device={String(row.device ?? '')}
                  style={{ gridTemplateColumns: template }}
                >
                  {columns.map((c) => {
                    const text = cellText(row[c]);
                    return (
                      <span key={c} className={`ellipsis${c === 'device' ? ' cell-strong' : ' mono'}`} title={text}>
                        {text}
                      </span>
                    );
                  })}
                </div>
              );
            }}
          />
        </div>
      )}
    </div>
  );
}

function cellText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** A running device's time so far, moving with the page's polls. */
function Running({ since }: { since: string }) {
  return <span className="cell-dim">{formatDuration(Math.max(0, Date.now() - Date.parse(since)))}</span>;
}

function CountsLine({ counts }: { counts: Record<BatchTargetStatus, number> }) {
  const total = Object.values(counts).reduce((n, c) => n + c, 0);
  const parts = (Object.entries(counts) as [BatchTargetStatus, number][])
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`);
  return (
    <span data-testid="batch-counts">
      {total} {total === 1 ? 'device' : 'devices'}
      {parts.length > 0 && `: ${parts.join(', ')}`}
    </span>
  );
}

function BatchStatusPill({ status, testId }: { status: BatchStatus; testId?: string }) {
  const tone = status === 'completed' ? 'ok' : status === 'running' ? 'busy' : status === 'cancelled' ? 'off' : 'bad';
  return (
    <span className={`pill pill--${tone}`} data-testid={testId}>
      {status}
    </span>
  );
}

function TargetStatusPill({ status }: { status: BatchTargetStatus }) {
  const tone =
    status === 'completed'
      ? 'ok'
      : status === 'running' || status === 'queued'
        ? 'busy'
        : status === 'cancelled'
          ? 'off'
          : 'bad';
  return (
    <span className={`pill pill--${tone}`} data-testid="batch-target-status">
      {status}
    </span>
  );
}
