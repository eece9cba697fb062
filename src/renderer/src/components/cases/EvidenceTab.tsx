/**
 * A case's evidence: the table (name, size, device, original path, acquired, integrity) and, once an item
 * is selected, the viewer beside it. Each side scrolls on its own (no scroll area inside another); a narrow
 * table keeps name, size and integrity.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { EvidenceView } from '../../../../shared/workstation/case-types.js';
import { formatBytes } from '../../../../shared/commands/format.js';
import { dispatcher } from '../../state/dispatcher.js';
import { errorText, useCasesStore } from '../../state/cases-store.js';
import { Instant } from '../Instant.js';
import { listKeyTarget } from '../list-keys.js';
import { IntegrityPill } from './common.js';
import { EvidenceViewer } from './EvidenceViewer.js';

export function EvidenceTab({ caseId }: { caseId: string }) {
  const revision = useCasesStore((s) => s.revision);
  const evidenceId = useCasesStore((s) => s.evidenceId);
  const openEvidence = useCasesStore((s) => s.openEvidence);
  const [items, setItems] = useState<EvidenceView[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const seq = useRef(0);

  const load = useCallback(async () => {
    const mine = ++seq.current;
    try {
      const list = await dispatcher.caseEvidence({ caseId });
      if (mine !== seq.current) return;
      setItems(list);
      setError(undefined);
    } catch (e) {
      if (mine === seq.current) setError(errorText(e));
    }
  }, [caseId]);

  useEffect(() => {
    void load();
  }, [load, revision]);

  const onVerified = useCallback(
    (view: EvidenceView) => setItems((list) => list?.map((item) => (item.id === view.id ? view : item))),
    [],
  );

  return (
    <div className={`evidence ${evidenceId ? 'evidence--split' : ''}`} data-testid="evidence-tab">
      {error && <p className="form-error">{error}</p>}
      {/* Focusable: the arrows walk the rows (the viewer follows), Enter opens the first. */}
      <div
        className="table-wrap evidence__table"
        tabIndex={0}
        aria-label="Evidence items: arrows select"
        data-testid="evidence-list"
        onKeyDown={(event) => {
          const list = items ?? [];
          const next = listKeyTarget(
            event.key,
            list.findIndex((row) => row.id === evidenceId),
            list.length,
          );
          const item = next === undefined ? undefined : list[next];
          if (!item) return;
          event.preventDefault();
          openEvidence(caseId, item.id);
          document.querySelector(`[data-id="${item.id}"]`)?.scrollIntoView({ block: 'nearest' });
        }}
      >
        <table className="table" data-testid="evidence-table">
          <thead>
            <tr>
              <th>Name</th>
              <th className="num">Size</th>
              <th>Device</th>
              <th>Original path</th>
              <th>Acquired</th>
              <th>Integrity</th>
            </tr>
          </thead>
          <tbody>
            {items?.map((item) => (
              <tr
                key={item.id}
                className="evidence__row"
                aria-selected={item.id === evidenceId}
                data-testid={`evidence-row-${item.sha256}`}
                data-id={item.id}
                data-sha256={item.sha256}
                data-integrity={item.integrity}
                onClick={() => openEvidence(caseId, item.id)}
              >
                <td>
                  <div className="cell-strong">{item.name}</div>
                  <div className="cell-dim mono ellipsis evidence__hash" title={item.sha256}>
                    {item.sha256}
                  </div>
                </td>
                <td className="num mono">{formatBytes(item.size)}</td>
                <td>{item.deviceName}</td>
                <td className="mono evidence__path" title={item.originalPath}>
                  {item.originalPath || <span className="cell-dim">({item.kind})</span>}
                </td>
                <td>
                  <Instant iso={item.acquiredAt} />
                  <div className="cell-dim">{item.analyst}</div>
                </td>
                <td>
                  <IntegrityPill integrity={item.integrity} />
                </td>
              </tr>
            ))}
            {items?.length === 0 && (
              <tr>
                <td colSpan={6} className="cell-dim">
                  No evidence yet: getfile, collect and <code>&gt; name.txt</code> outputs from a console land here
                  while this case is active.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {evidenceId ? (
        <div className="evidence__viewer">
          <EvidenceViewer key={evidenceId} id={evidenceId} onVerified={onVerified} />
        </div>
      ) : (
        items !== undefined &&
        items.length > 0 && <p className="card__hint">Select an item to see its provenance, hashes and a preview.</p>
      )}
    </div>
  );
}
