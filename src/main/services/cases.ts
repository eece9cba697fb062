/**
 * The workstation's cases: the renderer's `lr:cases.*`, `lr:notes.*`, `lr:transcripts.*`, `lr:evidence.*`
 * and `lr:search` channels, and the consoles' CaseRecorder (files pulled and commands run land in the
 * active case). Everything is local to this workstation (src/main/cases: SQLite + content-addressed
 * files under `<app data>/cases`), so it all works with no service reachable.
 *
 * The database opens on first use. Long work (verify, export, import) reports `cases.progress` at most
 * ten times a second; a case whose content changes publishes `cases.changed` (not note autosaves: the
 * renderer that saves knows).
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../node/log.js';
import {
  EVIDENCE_KINDS,
  type CaseStatus,
  type CaseTaskProgress,
  type CaseView,
  type EvidencePreview,
  type EvidenceView,
  type ExportCaseResult,
  type ImportCaseResult,
  type NoteView,
  type PreviewMode,
  type SearchResult,
  type TranscriptEntryView,
  type TranscriptSummary,
} from '../../shared/workstation/case-types.js';
import { MAX_CASE_IMPORT_BYTES } from '../../shared/workstation/ipc-contract.js';
import { openCaseDb, type CaseDb } from '../cases/case-db.js';
import { exportCase } from '../cases/case-export.js';
import { importCase } from '../cases/case-import.js';
import { CaseSearch } from '../cases/case-search.js';
import { CaseStore } from '../cases/case-store.js';
import { EvidenceStore } from '../cases/evidence-store.js';
import { previewFile, scanStrings } from '../cases/preview.js';
import type { StringsOptions } from '../../shared/workstation/evidence-preview.js';
import type { CaseRecorder, EvidenceProvenance, StoredEvidence, TranscriptInput } from '../cases/recorder.js';
import { UploadStaging } from './upload-staging.js';
import type { EventHub } from './events.js';

/** Progress events of one task are at least this far apart (the last one always goes out). */
const PROGRESS_EVERY_MS = 100;

export interface CasesServiceOptions {
  /** `<app data>/cases`; undefined without an app data folder (IPC unit tests): every call then throws. */
  dir: string | undefined;
  events: EventHub;
  log?: Logger | undefined;
  /** Where case zips being uploaded for import are written; default `<dir>/uploads`. */
  staging?: string | undefined;
  /** Where exports are written; default `<dir>/../exports`. */
  exportsDir?: string | undefined;
  /** Electron-ABI better-sqlite3 binding when running inside Electron. */
  nativeBinding?: string | undefined;
}

interface Open {
  db: CaseDb;
  store: CaseStore;
  search: CaseSearch;
  blobs: EvidenceStore;
  uploads: UploadStaging;
}

export class CasesService implements CaseRecorder {
  private opened: Open | undefined;
  private closed = false;

  constructor(private readonly options: CasesServiceOptions) {}

  // --- cases -----------------------------------------------------------------------------------------

  list(): CaseView[] {
    return this.open().store.listCases();
  }

  /** A new case, which becomes the active one. */
  create(title: string): CaseView {
    const view = this.open().store.createCase(title);
    this.changed(view.id);
    return view;
  }

  /** Closing a case also makes it inactive. */
  update(id: string, change: { title?: string | undefined; status?: CaseStatus | undefined }): CaseView {
    const view = this.open().store.updateCase(id, change);
    this.changed(id);
    return view;
  }

  /** The active case (opened as "Untitled case …" when there is none, as evidence would be). */
  activeCase(): CaseView {
    const { store } = this.open();
    const { caseId, created } = store.ensureActiveCase();
    if (created) this.changed(caseId);
    return store.getCase(caseId);
  }

  activate(id: string): CaseView {
    const view = this.open().store.activateCase(id);
    this.changed(id);
    return view;
  }

  notes(caseId: string): NoteView[] {
    return this.open().store.listNotes(caseId);
  }

  transcripts(caseId: string, offset = 0, limit = 200): { total: number; items: TranscriptSummary[] } {
    return this.open().store.listTranscripts(caseId, offset, limit);
  }

  evidence(caseId: string): EvidenceView[] {
    return this.open().store.listEvidence(caseId);
  }

  /** `signal`: the renderer cancelled the export; nothing is left in exports/. */
  async export(caseId: string, signal?: AbortSignal): Promise<ExportCaseResult> {
    const { store, blobs } = this.open();
    const outDir = this.exportsDir();
    mkdirSync(outDir, { recursive: true, mode: 0o700 });
    const result = await exportCase({
      store,
      blobs,
      caseId,
      outDir,
      signal,
      onProgress: this.progress('export', caseId),
    });
    this.options.log?.info('case exported', { caseId, path: result.path, bytes: result.bytes });
    return result;
  }

  /**
   * The file of an earlier export, by the name the exporter gave it (the browser shell's download), or
   * undefined: anything but such a name (a path, `..`) names nothing.
   */
  exportFile(name: string): string | undefined {
    if (!/^case-[A-Za-z0-9-]{1,80}\.zip$/.test(name) || !this.options.dir) return undefined;
    const file = path.join(this.exportsDir(), name);
    return existsSync(file) ? file : undefined;
  }

  // --- import ----------------------------------------------------------------------------------------

  importBegin(name: string, size: number): string {
    return this.open().uploads.begin(name, size, undefined);
  }

  importChunk(uploadId: string, offset: number, base64: string): number {
    return this.open().uploads.chunk(uploadId, offset, base64);
  }

  /** Verifies the uploaded zip and adds its case when every member verifies. */
  async importEnd(uploadId: string): Promise<ImportCaseResult> {
    const upload = this.open().uploads.finish(uploadId);
    try {
      return await this.runImport(upload.file, upload.name, uploadId);
    } finally {
      rmSync(upload.file, { force: true });
    }
  }

  importAbort(uploadId: string): boolean {
    return this.open().uploads.abort(uploadId);
  }

  /** Imports a zip already on this machine (left in place). */
  async importFile(zipPath: string): Promise<ImportCaseResult> {
    return this.runImport(zipPath, path.basename(zipPath), path.basename(zipPath));
  }

  private async runImport(file: string, name: string, taskId: string): Promise<ImportCaseResult> {
    const { store, blobs } = this.open();
    const result = await importCase({
      zipPath: file,
      zipName: name,
      store,
      blobs,
      onProgress: this.progress('import', taskId),
    });
    if (result.ok) {
      this.options.log?.info('case imported', { caseId: result.caseId, from: name, members: result.verified });
      this.changed(result.caseId);
    } else {
      this.options.log?.warn('case import refused', { from: name, problems: result.problems.length });
    }
    return result;
  }

  // --- notes -----------------------------------------------------------------------------------------

  createNote(input: {
    caseId: string;
    title?: string | undefined;
    body?: string | undefined;
    commandId?: string | undefined;
    evidenceId?: string | undefined;
  }): NoteView {
    return this.open().store.createNote({ ...input, title: input.title ?? '', body: input.body ?? '' });
  }

  /** The renderer's autosave: one UPDATE, committed (WAL) before it answers. */
  saveNote(input: { id: string; title: string; body: string; commandId?: string | null | undefined }): {
    id: string;
    updatedAt: string;
  } {
    return this.open().store.saveNote(input.id, input);
  }

  deleteNote(id: string): boolean {
    return this.open().store.deleteNote(id);
  }

  // --- transcripts -----------------------------------------------------------------------------------

  transcript(id: string): TranscriptEntryView {
    return this.open().store.getTranscriptWithPosition(id);
  }

  transcriptByCommand(commandId: string): TranscriptEntryView {
    return this.open().store.transcriptByCommand(commandId);
  }

  /** CaseRecorder: one command of a console, into the active case (opened if there is none). */
  addTranscript(entry: TranscriptInput): TranscriptSummary {
    const { store } = this.open();
    const summary = store.db.transaction(() => store.addTranscript(store.ensureActiveCase().caseId, entry))();
    this.changed(summary.caseId);
    return summary;
  }

  // --- evidence --------------------------------------------------------------------------------------

  evidenceItem(id: string): EvidenceView {
    return this.open().store.getEvidence(id);
  }

  /** CaseRecorder: moves a finished download or saved output into the store, indexed in the active case. */
  async addEvidence(file: string, provenance: EvidenceProvenance): Promise<StoredEvidence> {
    const { store, blobs } = this.open();
    if (!(EVIDENCE_KINDS as readonly string[]).includes(provenance.kind))
      throw new Error(`unknown evidence kind ${JSON.stringify(provenance.kind)}`);
    const stored = await blobs.ingest(file, provenance.expectedSha256, (sha256) => store.blobSuspect(sha256));
    const at = new Date().toISOString();
    const name = provenance.name || path.basename(provenance.originalPath) || path.basename(file);
    const view = store.db.transaction(() => {
      // A new blob under a name whose earlier copy was found tampered or missing repairs those items too.
      if (!stored.deduplicated) store.setIntegrity(stored.sha256, 'ok', at);
      const { caseId } = store.ensureActiveCase();
      return store.addEvidence(
        caseId,
        { ...stored, provenance: { ...provenance, name }, acquiredAt: at },
        { state: 'ok', at },
      );
    })();
    this.options.log?.info('evidence stored', {
      id: view.id,
      caseId: view.caseId,
      sha256: view.sha256,
      size: view.size,
      deduplicated: stored.deduplicated,
    });
    this.changed(view.caseId);
    return { ...view, caseTitle: store.getCase(view.caseId).title };
  }

  /** Text and hex: one range. Strings: a scan from `offset` on (bounded per call), see preview.ts. */
  async preview(
    id: string,
    mode: PreviewMode,
    offset = 0,
    length = 4096,
    strings: StringsOptions = {},
  ): Promise<EvidencePreview> {
    const { store, blobs } = this.open();
    const item = store.getEvidence(id);
    try {
      const file = blobs.blobPath(item.sha256);
      return mode === 'strings'
        ? await scanStrings(file, offset, strings)
        : await previewFile(file, mode, offset, length);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT')
        throw new Error(`evidence ${id} (${item.name}): the stored file is missing (verify it)`, { cause: e });
      throw e;
    }
  }

  /** Hashes the stored file again; the result (ok, tampered, missing) applies to every item of that blob. */
  async verify(id: string): Promise<EvidenceView> {
    const { store, blobs } = this.open();
    const item = store.getEvidence(id);
    const progress = this.progress('verify', id);
    const result = await blobs.check(item.sha256, (done) => progress(Math.min(done, item.size), item.size));
    const at = new Date().toISOString();
    store.setIntegrity(item.sha256, result.state, at);
    progress(item.size, item.size);
    if (result.state !== 'ok')
      this.options.log?.warn('evidence integrity', { id, sha256: item.sha256, state: result.state });
    this.changed(item.caseId);
    return store.getEvidence(id);
  }

  // --- search ----------------------------------------------------------------------------------------

  search(text: string, caseId?: string, limit = 50): SearchResult {
    const { store, search } = this.open();
    if (caseId !== undefined) store.requireCase(caseId);
    return search.search(text, caseId, limit);
  }

  close(): void {
    this.closed = true;
    const opened = this.opened;
    this.opened = undefined;
    if (!opened) return;
    opened.uploads.abortAll();
    opened.db.close();
  }

  // ---------------------------------------------------------------------------------------------------

  private open(): Open {
    if (this.closed) throw new Error('the case store is closed');
    if (this.opened) return this.opened;
    const dir = this.options.dir;
    if (!dir) throw new Error('no app data folder');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const blobs = new EvidenceStore(path.join(dir, 'evidence'), path.join(dir, 'tmp'));
    blobs.clearScratch();
    const stagingDir = this.options.staging ?? path.join(dir, 'uploads');
    removeStaleUploads(stagingDir);
    const db = openCaseDb(path.join(dir, 'cases.db'), { nativeBinding: this.options.nativeBinding });
    const store = new CaseStore(db);
    this.opened = {
      db,
      store,
      search: new CaseSearch(db, (sha256) => blobs.blobPath(sha256)),
      blobs,
      uploads: new UploadStaging({
        dir: stagingDir,
        minBytes: 1,
        maxBytes: MAX_CASE_IMPORT_BYTES,
        what: 'a case zip',
        label: 'case import',
        prefix: 'import-',
      }),
    };
    return this.opened;
  }

  private exportsDir(): string {
    const dir = this.options.dir as string;
    return this.options.exportsDir ?? path.join(path.dirname(dir), 'exports');
  }

  private changed(caseId: string | undefined): void {
    this.options.events.publish({ type: 'cases.changed', caseId });
  }

  private progress(task: CaseTaskProgress['task'], id: string): (done: number, total: number) => void {
    let last = 0;
    let finished = false;
    return (done, total) => {
      const now = Date.now();
      if (done < total ? now - last < PROGRESS_EVERY_MS : finished) return;
      finished = done >= total;
      last = now;
      this.options.events.publish({ type: 'cases.progress', progress: { task, id, done, total } });
    };
  }
}

/** Import uploads a previous run left behind (the app quit mid-upload). */
function removeStaleUploads(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names)
    if (/^import-[0-9a-f]+\.zip\.part$/.test(name)) rmSync(path.join(dir, name), { force: true });
}
