/**
 * Batches in the workstation: "Run on selected" on the Devices page and the Batch page. Main asks the
 * service (BatchApi: `/api/v1/batches`, the profile's token, so the service applies this user's role to
 * every device's command) and keeps the batch's output in the active case: the merged results as CSV and
 * JSON, and every file a device gave, downloaded with its SHA-256 checked, with a note naming the batch.
 *
 * The Batch page asks for the save by itself when a batch it shows ends, and on "Save to case" for one
 * that ended while it was not shown. A case holds a batch's results once: a second save finds them by name
 * and adds nothing (the automatic save and a click may also meet: they share one save).
 *
 * A save may be cancelled (the page's Cancel: `lr:calls.cancel`). Until every pulled file is downloaded and
 * checked, a cancel stops the download under way (its partial file deleted) and nothing is stored. After
 * that, a cancel stops before the next item: what is already in the case are whole, checked items, never
 * the results CSV (stored last), so the case does not count as holding the batch; a later save stores
 * only the items not yet there (same name and SHA-256) and then the results, so nothing is stored twice.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BatchApi } from '../../client/index.js';
import { localNameFor } from '../../node/file-download.js';
import type { Logger } from '../../node/log.js';
import type { BatchCreate, BatchRecord, BatchResults, BatchSummary } from '../../shared/wire/batch.js';
import { CATALOG, roleAllows } from '../../shared/commands/catalog.js';
import { complete } from '../../shared/commands/completion.js';
import { parseLine } from '../../shared/commands/grammar.js';
import type { BatchSaved, CompletionView, ExportResult } from '../../shared/workstation/ipc-contract.js';
import type { EvidenceProvenance } from '../cases/recorder.js';
import type { CasesService } from './cases.js';
import { deliverExport, type ExportTarget } from './command-log.js';
import { libraryNamesFor } from './library-completion.js';
import type { Workspace } from './workspace.js';

export class BatchService {
  private client: { generation: number; api: BatchApi } | undefined;
  /** One save per batch at a time (the automatic one and a click may meet). */
  private readonly saving = new Map<string, Promise<BatchSaved>>();

  constructor(
    private readonly workspace: Workspace,
    private readonly cases: CasesService | undefined,
    private readonly log: Logger,
    private readonly pickExportFile?: ExportTarget,
  ) {}

  async create(request: BatchCreate): Promise<BatchRecord> {
    const record = await this.api().create(request);
    this.log.info('batch created', { id: record.id, devices: record.targets.length, commands: record.commands.length });
    return record;
  }

  async list(limit: number): Promise<{ items: BatchSummary[] }> {
    return { items: await this.api().list(limit) };
  }

  get(id: string): Promise<BatchRecord> {
    return this.api().get(id);
  }

  cancel(id: string): Promise<BatchRecord> {
    return this.api().cancel(id);
  }

  /** At most `limit` rows go to the page (the service stops reading there). */
  results(id: string, device: string | undefined, limit: number): Promise<BatchResults> {
    return this.api().results(id, { ...(device ? { device } : {}), limit });
  }

  /** The whole merged table (or one device's), written like the command log's exports. */
  async export(id: string, format: 'csv' | 'json', device: string | undefined): Promise<ExportResult> {
    const api = this.api();
    const filter = device ? { device } : {};
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const fileName = `batch-${id}${device ? `-${safeName(device)}` : ''}-${stamp}.${format}`;
    if (format === 'json') {
      const results = await api.results(id, filter);
      return deliverExport(
        this.workspace,
        this.pickExportFile,
        fileName,
        `${JSON.stringify(results, null, 2)}\n`,
        results.rows.length,
      );
    }
    const [csv, record] = await Promise.all([api.resultsCsv(id, filter), api.get(id)]);
    const rows = record.targets
      .filter((t) => !device || t.deviceId === device || t.deviceName === device)
      .reduce((n, t) => n + t.rows, 0);
    return deliverExport(this.workspace, this.pickExportFile, fileName, csv, rows);
  }

  /** The batch's output into the active case (see the file's comment). Refused while the batch runs. */
  saveToCase(id: string, signal?: AbortSignal): Promise<BatchSaved> {
    const running = this.saving.get(id);
    if (running) return running;
    const work = this.save(id, signal).finally(() => this.saving.delete(id));
    this.saving.set(id, work);
    return work;
  }

  /** Commands, flags, values and library names for the line typed in "Run on selected" (no device paths). */
  async complete(line: string, cursor: number): Promise<CompletionView> {
    const role = this.workspace.current().me.role;
    const commands = CATALOG.filter((c) => roleAllows(role, c.role)).map((c) => c.name);
    const c = complete(line, cursor, { commands, library: await libraryNamesFor(this.workspace, line, cursor) });
    if (c.kind === 'path')
      return {
        replaceFrom: c.replaceFrom,
        candidates: [],
        kind: 'path',
        problem: 'paths are not completed here: no single device to list them on',
      };
    return { replaceFrom: c.replaceFrom, candidates: c.candidates, kind: c.kind };
  }

  // ---------------------------------------------------------------------------------------------------

  private api(): BatchApi {
    const connection = this.workspace.current();
    if (this.client?.generation !== connection.generation)
      this.client = { generation: connection.generation, api: new BatchApi(connection.profile) };
    return this.client.api;
  }

  private async save(id: string, signal?: AbortSignal): Promise<BatchSaved> {
    const stopIfCancelled = (stored: number): void => {
      if (!signal?.aborted) return;
      throw new Error(
        stored === 0
          ? `the save of batch ${id} to the case was cancelled; nothing was stored`
          : `the save of batch ${id} to the case was cancelled after ${stored} items; Save to case again adds the rest`,
      );
    };
    const cases = this.cases;
    if (!cases) throw new Error('no case store on this workstation (no app data folder)');
    const paths = this.workspace.paths;
    if (!paths) throw new Error('no app data folder');
    const api = this.api();
    const record = await api.get(id);
    if (record.status === 'running')
      throw new Error(`batch ${id} is still running: its output goes to the case when it ends`);
    const active = cases.activeCase();
    const csvName = `batch-${id}-results.csv`;
    const already = cases.evidence(active.id).filter((item) => item.name.startsWith(`batch-${id}-`));
    if (already.some((item) => item.name === csvName)) {
      return {
        caseId: active.id,
        caseTitle: active.title,
        added: false,
        evidence: already.map(({ id: itemId, name, sha256, size }) => ({ id: itemId, name, sha256, size })),
      };
    }

    const analyst = this.workspace.current().me.name;
    const scratch = mkdtempSync(path.join(paths.downloads, `batch-${id}-`));
    const stored: BatchSaved['evidence'] = [];
    let caseId = active.id;
    let caseTitle = active.title;
    try {
      const [csv, results] = await Promise.all([api.resultsCsv(id, {}), api.results(id)]);
      stopIfCancelled(0);
      // Every pulled file first (BatchApi checks each against the SHA-256 the service recorded): a file that
      // does not verify stores nothing at all, so a later save is not mistaken for a complete one.
      const pulled: { file: string; provenance: EvidenceProvenance }[] = [];
      for (const f of results.files) {
        const step = record.targets.find((t) => t.deviceId === f.deviceId)?.steps.find((s) => s.index === f.step);
        const file = path.join(mkdtempSync(path.join(scratch, 'file-')), localNameFor(f.name));
        const got = await api.downloadFile(id, f.deviceId, f.step, file, f.sha256, signal).catch((e: unknown) => {
          stopIfCancelled(0);
          throw e;
        });
        if (got.sha256 !== f.sha256)
          throw new Error(
            `${f.device}: ${f.name}: SHA-256 mismatch (expected ${f.sha256}, got ${got.sha256}); nothing of batch ${id} was stored`,
          );
        pulled.push({
          file,
          provenance: {
            kind: 'getfile',
            name: `batch-${id}-${safeName(f.device)}-${f.name}`,
            deviceId: f.deviceId,
            deviceName: f.device,
            originalPath: step ? devicePathOf(step.line, f.name) : f.name,
            commandId: step?.commandId,
            analyst,
            fileTimes: {},
            // The evidence store hashes the file again and refuses it unless it is this.
            expectedSha256: f.sha256,
          },
        });
      }
      const merged = { deviceId: '', deviceName: `batch ${id}`, originalPath: '', analyst, fileTimes: {} };
      const jsonName = `batch-${id}-results.json`;
      writeFileSync(path.join(scratch, csvName), csv, { mode: 0o600 });
      writeFileSync(path.join(scratch, jsonName), `${JSON.stringify(results, null, 2)}\n`, { mode: 0o600 });
      // The results CSV last: its presence in the case is what says this batch was saved whole.
      const items: { file: string; provenance: EvidenceProvenance }[] = [
        ...pulled,
        { file: path.join(scratch, jsonName), provenance: { ...merged, kind: 'output', name: jsonName } },
        { file: path.join(scratch, csvName), provenance: { ...merged, kind: 'output', name: csvName } },
      ];
      for (const { file, provenance } of items) {
        stopIfCancelled(stored.length);
        // Stored by an earlier save that was cancelled part way (see the file's comment).
        const earlier = already.find(
          (item) =>
            item.name === provenance.name &&
            (provenance.expectedSha256 === undefined || item.sha256 === provenance.expectedSha256),
        );
        if (earlier) {
          stored.push({ id: earlier.id, name: earlier.name, sha256: earlier.sha256, size: earlier.size });
          continue;
        }
        const item = await cases.addEvidence(file, provenance);
        caseId = item.caseId;
        caseTitle = item.caseTitle;
        stored.push({ id: item.id, name: item.name, sha256: item.sha256, size: item.size });
      }
      cases.createNote({ caseId, title: `Batch ${id}`, body: noteBody(record, results, stored) });
      return { caseId, caseTitle, added: true, evidence: stored };
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
}

/** The case note: which batch, what ran where, and what was stored (names and SHA-256). */
function noteBody(record: BatchRecord, results: BatchResults, stored: BatchSaved['evidence']): string {
  const devices = record.targets.map(
    (t) => `- ${t.deviceName}: ${t.status}${t.note ? ` (${t.note})` : ''}, ${t.rows} rows`,
  );
  return [
    `Batch ${record.id} by ${record.createdBy} at ${record.createdAt}: ${record.status}${record.comment ? ` — ${record.comment}` : ''}`,
    '',
    ...record.commands.map((c) => `    ${c}`),
    '',
    ...devices,
    '',
    `${results.rows.length} merged rows; stored as evidence:`,
    ...stored.map((item) => `- ${item.name} (SHA-256 ${item.sha256})`),
  ].join('\n');
}

/** The path the step asked for (`getfile PATH`, `collect PATH`), else the file's name. */
function devicePathOf(line: string, name: string): string {
  try {
    return parseLine(line).positionals[0] ?? name;
  } catch {
    return name;
  }
}

/** A device name inside a file name. */
function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80);
}
