/**
 * The case store's records (synchronous, over cases.db): cases and which one is active, notes,
 * transcripts and the evidence index. Blob files are evidence-store.ts's business, search is
 * case-search.ts's; this file maps rows to the shapes of src/shared/workstation/case-types.ts and checks that every id
 * it is given exists (errors are one line: `no case X`).
 */
import { newId } from '../../node/ids.js';
import type {
  CaseStatus,
  CaseView,
  EvidenceIntegrity,
  EvidenceKind,
  EvidenceView,
  NoteView,
  TranscriptEntryView,
  TranscriptSummary,
} from '../../shared/workstation/case-types.js';
import type { CaseDb } from './case-db.js';
import type { FileDigest } from './hashing.js';
import type { EvidenceProvenance, TranscriptInput } from './recorder.js';

/** Output kept per transcript entry (UTF-16 code units); the command log keeps the whole output. */
export const MAX_TRANSCRIPT_OUTPUT_CHARS = 1024 * 1024;
export const MAX_CASE_TITLE_CHARS = 200;
/** Matches the IPC contract's MAX_NOTE_CHARS (main does not import the contract's limits into the store). */
export const MAX_NOTE_BODY_CHARS = 200_000;
export const MAX_NOTE_TITLE_CHARS = 200;

export const newRecordId = (): string => newId(12);

interface CaseRow {
  id: string;
  title: string;
  status: CaseStatus;
  created_at: string;
  updated_at: string;
  active: number;
  notes: number;
  evidence: number;
  transcripts: number;
}

interface NoteRow {
  id: string;
  case_id: string;
  title: string;
  body: string;
  command_id: string | null;
  evidence_id: string | null;
  created_at: string;
  updated_at: string;
}

interface TranscriptRow {
  id: string;
  case_id: string;
  session_id: string;
  device_id: string;
  device_name: string;
  command_id: string | null;
  line: string;
  output?: string;
  output_chars: number;
  output_truncated: number;
  status: string;
  error: string | null;
  analyst: string;
  started_at: string;
  ended_at: string;
}

interface EvidenceRow {
  id: string;
  case_id: string;
  sha256: string;
  sha1: string;
  md5: string;
  size: number;
  name: string;
  kind: EvidenceKind;
  device_id: string;
  device_name: string;
  original_path: string;
  command_id: string | null;
  analyst: string;
  acquired_at: string;
  file_mtime: string | null;
  file_atime: string | null;
  file_ctime: string | null;
  file_btime: string | null;
  integrity: EvidenceIntegrity;
  verified_at: string | null;
}

const CASE_COLUMNS = `c.id, c.title, c.status, c.created_at, c.updated_at,
  (SELECT count(*) FROM active_case a WHERE a.case_id = c.id) AS active,
  (SELECT count(*) FROM notes n WHERE n.case_id = c.id) AS notes,
  (SELECT count(*) FROM evidence e WHERE e.case_id = c.id) AS evidence,
  (SELECT count(*) FROM transcripts t WHERE t.case_id = c.id) AS transcripts`;
const SUMMARY_COLUMNS = `id, case_id, session_id, device_id, device_name, command_id, line, output_chars, output_truncated, status, error, analyst, started_at, ended_at`;

const opt = (value: string | null): string | undefined => value ?? undefined;

function caseView(row: CaseRow): CaseView {
  return {
    id: row.id,
    title: row.title,
    status: row.status,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    active: row.active > 0,
    counts: { notes: row.notes, evidence: row.evidence, transcripts: row.transcripts },
  };
}

function noteView(row: NoteRow): NoteView {
  return {
    id: row.id,
    caseId: row.case_id,
    title: row.title,
    body: row.body,
    commandId: opt(row.command_id),
    evidenceId: opt(row.evidence_id),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function transcriptSummary(row: TranscriptRow): TranscriptSummary {
  return {
    id: row.id,
    caseId: row.case_id,
    sessionId: row.session_id,
    deviceId: row.device_id,
    deviceName: row.device_name,
    commandId: opt(row.command_id),
    line: row.line,
    status: row.status,
    error: opt(row.error),
    analyst: row.analyst,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    outputChars: row.output_chars,
    outputTruncated: row.output_truncated !== 0,
  };
}

function evidenceView(row: EvidenceRow): EvidenceView {
  return {
    id: row.id,
    caseId: row.case_id,
    sha256: row.sha256,
    sha1: row.sha1,
    md5: row.md5,
    size: row.size,
    name: row.name,
    kind: row.kind,
    deviceId: row.device_id,
    deviceName: row.device_name,
    originalPath: row.original_path,
    commandId: opt(row.command_id),
    analyst: row.analyst,
    acquiredAt: row.acquired_at,
    fileTimes: {
      mtime: opt(row.file_mtime),
      atime: opt(row.file_atime),
      ctime: opt(row.file_ctime),
      btime: opt(row.file_btime),
    },
    integrity: row.integrity,
    verifiedAt: opt(row.verified_at),
  };
}

/** `Untitled case 2025-03-14 09:26 UTC`: in UTC with its zone, like every time the workstation shows by default. */
export function untitledCaseTitle(now: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `Untitled case ${now.getUTCFullYear()}-${p(now.getUTCMonth() + 1)}-${p(now.getUTCDate())} ${p(now.getUTCHours())}:${p(now.getUTCMinutes())} UTC`;
}

/**
 * Cuts the output to MAX_TRANSCRIPT_OUTPUT_CHARS (never inside a surrogate pair) and says where the rest is.
 */
export function capTranscriptOutput(
  output: string,
  commandId: string | undefined,
  cutByCaller = false,
): { output: string; chars: number; truncated: boolean } {
  if (output.length <= MAX_TRANSCRIPT_OUTPUT_CHARS && !cutByCaller)
    return { output, chars: output.length, truncated: false };
  let cut = Math.min(output.length, MAX_TRANSCRIPT_OUTPUT_CHARS);
  const last = output.charCodeAt(cut - 1);
  if (cut < output.length && last >= 0xd800 && last <= 0xdbff) cut--;
  const kept = output.slice(0, cut);
  // True whatever the service's settings: its log keeps a first part (logOutputBytes, 1 MiB by default) with
  // the full size and SHA-256, not everything; a console that saved the full output said so just above.
  const where = commandId ? `command ${commandId} in the command log` : 'the command log entry';
  const notice = `${kept.endsWith('\n') || kept === '' ? '' : '\n'}[transcript cut after ${cut} characters; ${where} keeps the first part of the output (the service's per-command limit, 1 MiB by default) with its full size and SHA-256]\n`;
  return { output: kept + notice, chars: cut, truncated: true };
}

function cleanTitle(title: string, what: string): string {
  const trimmed = title.trim();
  if (!trimmed) throw new Error(`${what} must not be empty`);
  if (trimmed.length > MAX_CASE_TITLE_CHARS)
    throw new Error(`${what} is longer than ${MAX_CASE_TITLE_CHARS} characters`);
  return trimmed;
}

function checkNote(title: string, body: string): void {
  if (title.length > MAX_NOTE_TITLE_CHARS)
    throw new Error(`a note title is at most ${MAX_NOTE_TITLE_CHARS} characters`);
  if (body.length > MAX_NOTE_BODY_CHARS) throw new Error(`a note is at most ${MAX_NOTE_BODY_CHARS} characters`);
}

export interface NewEvidence extends FileDigest {
  provenance: EvidenceProvenance;
  acquiredAt: string;
}

export class CaseStore {
  private readonly stmt;

  constructor(readonly db: CaseDb) {
    const s = (sql: string) => db.prepare(sql);
    this.stmt = {
      listCases: s(`SELECT ${CASE_COLUMNS} FROM cases c ORDER BY c.updated_at DESC, c.id`),
      getCase: s(`SELECT ${CASE_COLUMNS} FROM cases c WHERE c.id = ?`),
      caseExists: s('SELECT 1 FROM cases WHERE id = ?').pluck(),
      caseStatus: s('SELECT status FROM cases WHERE id = ?').pluck(),
      insertCase: s('INSERT INTO cases (id, title, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?)'),
      updateCase: s(
        'UPDATE cases SET title = coalesce(?, title), status = coalesce(?, status), updated_at = ? WHERE id = ?',
      ),
      activeCase: s('SELECT case_id FROM active_case WHERE singleton = 1').pluck(),
      setActive: s(
        'INSERT INTO active_case (singleton, case_id) VALUES (1, ?) ON CONFLICT (singleton) DO UPDATE SET case_id = excluded.case_id',
      ),
      clearActiveIf: s('DELETE FROM active_case WHERE case_id = ?'),

      listNotes: s('SELECT * FROM notes WHERE case_id = ? ORDER BY seq'),
      getNote: s('SELECT * FROM notes WHERE id = ?'),
      insertNote: s(
        `INSERT INTO notes (id, case_id, title, body, command_id, evidence_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      // Autosave: one statement (the FTS index and the case's updated_at follow by trigger).
      saveNote: s(
        `UPDATE notes SET title = ?, body = ?, command_id = CASE WHEN ? THEN ? ELSE command_id END, updated_at = ? WHERE id = ?`,
      ),
      deleteNote: s('DELETE FROM notes WHERE id = ?'),

      insertTranscript:
        s(`INSERT INTO transcripts (id, case_id, session_id, device_id, device_name, command_id, line, output, output_chars, output_truncated, status, error, analyst, started_at, ended_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      countTranscripts: s('SELECT count(*) FROM transcripts WHERE case_id = ?').pluck(),
      listTranscripts: s(`SELECT ${SUMMARY_COLUMNS} FROM transcripts WHERE case_id = ? ORDER BY seq LIMIT ? OFFSET ?`),
      getTranscript: s('SELECT * FROM transcripts WHERE id = ?'),
      // A command can appear in several cases (an imported copy of a case): the latest record wins.
      transcriptByCommand: s('SELECT * FROM transcripts WHERE command_id = ? ORDER BY seq DESC LIMIT 1'),
      transcriptPosition: s(
        'SELECT COUNT(*) FROM transcripts t JOIN transcripts x ON x.id = ? WHERE t.case_id = x.case_id AND t.seq < x.seq',
      ).pluck(),

      insertEvidence:
        s(`INSERT INTO evidence (id, case_id, sha256, sha1, md5, size, name, kind, device_id, device_name, original_path, command_id, analyst, acquired_at,
          file_mtime, file_atime, file_ctime, file_btime, integrity, verified_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      listEvidence: s('SELECT * FROM evidence WHERE case_id = ? ORDER BY seq'),
      getEvidence: s('SELECT * FROM evidence WHERE id = ?'),
      setIntegrity: s('UPDATE evidence SET integrity = ?, verified_at = ? WHERE sha256 = ?'),
      blobSuspect: s(
        `SELECT 1 FROM evidence WHERE sha256 = ? AND integrity IN ('tampered', 'missing') LIMIT 1`,
      ).pluck(),
    };
  }

  // --- cases -----------------------------------------------------------------------------------------

  listCases(): CaseView[] {
    return (this.stmt.listCases.all() as CaseRow[]).map(caseView);
  }

  getCase(id: string): CaseView {
    const row = this.stmt.getCase.get(id) as CaseRow | undefined;
    if (!row) throw new Error(`no case ${id}`);
    return caseView(row);
  }

  requireCase(id: string): void {
    if (!this.stmt.caseExists.get(id)) throw new Error(`no case ${id}`);
  }

  /** A new open case, made the active one. */
  createCase(title: string, now = new Date()): CaseView {
    const id = newRecordId();
    const at = now.toISOString();
    const clean = cleanTitle(title, 'a case title');
    this.db.transaction(() => {
      this.stmt.insertCase.run(id, clean, 'open', at, at);
      this.stmt.setActive.run(id);
    })();
    return this.getCase(id);
  }

  /** Closing a case also stops it being the active one: nothing new lands in a closed case. */
  updateCase(id: string, change: { title?: string | undefined; status?: CaseStatus | undefined }): CaseView {
    this.requireCase(id);
    const title = change.title === undefined ? null : cleanTitle(change.title, 'a case title');
    this.db.transaction(() => {
      this.stmt.updateCase.run(title, change.status ?? null, new Date().toISOString(), id);
      if (change.status === 'closed') this.stmt.clearActiveIf.run(id);
    })();
    return this.getCase(id);
  }

  activateCase(id: string): CaseView {
    this.requireCase(id);
    if (this.stmt.caseStatus.get(id) === 'closed')
      throw new Error(`case ${id} is closed: reopen it before making it the active case`);
    this.stmt.setActive.run(id);
    return this.getCase(id);
  }

  activeCaseId(): string | undefined {
    return this.stmt.activeCase.get() as string | undefined;
  }

  /** The active case, opening an "Untitled case ..." when there is none, so nothing recorded is dropped. */
  ensureActiveCase(now = new Date()): { caseId: string; created: boolean } {
    const active = this.activeCaseId();
    if (active) return { caseId: active, created: false };
    return { caseId: this.createCase(untitledCaseTitle(now), now).id, created: true };
  }

  // --- notes -----------------------------------------------------------------------------------------

  listNotes(caseId: string): NoteView[] {
    this.requireCase(caseId);
    return (this.stmt.listNotes.all(caseId) as NoteRow[]).map(noteView);
  }

  getNote(id: string): NoteView {
    const row = this.stmt.getNote.get(id) as NoteRow | undefined;
    if (!row) throw new Error(`no note ${id}`);
    return noteView(row);
  }

  createNote(
    input: {
      caseId: string;
      title: string;
      body: string;
      commandId?: string | undefined;
      evidenceId?: string | undefined;
    },
    now = new Date(),
  ): NoteView {
    this.requireCase(input.caseId);
    checkNote(input.title, input.body);
    if (input.evidenceId) {
      const evidence = this.getEvidence(input.evidenceId);
      if (evidence.caseId !== input.caseId)
        throw new Error(`evidence ${input.evidenceId} is not in case ${input.caseId}`);
    }
    const id = newRecordId();
    const at = now.toISOString();
    this.stmt.insertNote.run(
      id,
      input.caseId,
      input.title,
      input.body,
      input.commandId ?? null,
      input.evidenceId ?? null,
      at,
      at,
    );
    return this.getNote(id);
  }

  /** The renderer's autosave: `commandId` undefined keeps the link, null removes it. */
  saveNote(
    id: string,
    note: { title: string; body: string; commandId?: string | null | undefined },
    now = new Date(),
  ): { id: string; updatedAt: string } {
    checkNote(note.title, note.body);
    const at = now.toISOString();
    const changeLink = note.commandId !== undefined;
    const result = this.stmt.saveNote.run(note.title, note.body, changeLink ? 1 : 0, note.commandId ?? null, at, id);
    if (result.changes === 0) throw new Error(`no note ${id}`);
    return { id, updatedAt: at };
  }

  deleteNote(id: string): boolean {
    return this.stmt.deleteNote.run(id).changes > 0;
  }

  // --- transcripts -----------------------------------------------------------------------------------

  addTranscript(caseId: string, entry: TranscriptInput): TranscriptSummary {
    const id = newRecordId();
    const capped = capTranscriptOutput(entry.output, entry.commandId, entry.outputTruncated ?? false);
    this.stmt.insertTranscript.run(
      id,
      caseId,
      entry.sessionId,
      entry.deviceId,
      entry.deviceName,
      entry.commandId ?? null,
      entry.line,
      capped.output,
      capped.chars,
      capped.truncated ? 1 : 0,
      entry.status,
      entry.error ?? null,
      entry.analyst,
      entry.startedAt,
      entry.endedAt,
    );
    return transcriptSummary(this.stmt.getTranscript.get(id) as TranscriptRow);
  }

  /** Inserts a transcript entry exactly as given (case import: ids, caps and flags come from the export). */
  insertTranscriptRecord(entry: TranscriptEntryView): void {
    this.stmt.insertTranscript.run(
      entry.id,
      entry.caseId,
      entry.sessionId,
      entry.deviceId,
      entry.deviceName,
      entry.commandId ?? null,
      entry.line,
      entry.output,
      entry.outputChars,
      entry.outputTruncated ? 1 : 0,
      entry.status,
      entry.error ?? null,
      entry.analyst,
      entry.startedAt,
      entry.endedAt,
    );
  }

  listTranscripts(caseId: string, offset: number, limit: number): { total: number; items: TranscriptSummary[] } {
    this.requireCase(caseId);
    const total = this.stmt.countTranscripts.get(caseId) as number;
    const items = (this.stmt.listTranscripts.all(caseId, limit, offset) as TranscriptRow[]).map(transcriptSummary);
    return { total, items };
  }

  getTranscript(id: string): TranscriptEntryView {
    const row = this.stmt.getTranscript.get(id) as TranscriptRow | undefined;
    if (!row) throw new Error(`no transcript entry ${id}`);
    return { ...transcriptSummary(row), output: row.output ?? '' };
  }

  /** The entry with its place in its case's list (the viewer scrolls the list to it). */
  getTranscriptWithPosition(id: string): TranscriptEntryView {
    const entry = this.getTranscript(id);
    return { ...entry, position: this.stmt.transcriptPosition.get(entry.id) as number };
  }

  transcriptByCommand(commandId: string): TranscriptEntryView {
    const row = this.stmt.transcriptByCommand.get(commandId) as TranscriptRow | undefined;
    if (!row) throw new Error(`no transcript of command ${commandId}`);
    return {
      ...transcriptSummary(row),
      output: row.output ?? '',
      position: this.stmt.transcriptPosition.get(row.id) as number,
    };
  }

  // --- evidence --------------------------------------------------------------------------------------

  /** Indexes a stored blob in a case; `integrity` is known when the caller has just hashed the bytes. */
  addEvidence(
    caseId: string,
    item: NewEvidence,
    integrity: { state: EvidenceIntegrity; at?: string | undefined } = { state: 'ok' },
    id = newRecordId(),
  ): EvidenceView {
    const p = item.provenance;
    const verifiedAt = integrity.at ?? (integrity.state === 'ok' ? item.acquiredAt : null);
    this.stmt.insertEvidence.run(
      id,
      caseId,
      item.sha256,
      item.sha1,
      item.md5,
      item.size,
      p.name,
      p.kind,
      p.deviceId,
      p.deviceName,
      p.originalPath,
      p.commandId ?? null,
      p.analyst,
      item.acquiredAt,
      p.fileTimes.mtime ?? null,
      p.fileTimes.atime ?? null,
      p.fileTimes.ctime ?? null,
      p.fileTimes.btime ?? null,
      integrity.state,
      verifiedAt,
    );
    return this.getEvidence(id);
  }

  listEvidence(caseId: string): EvidenceView[] {
    this.requireCase(caseId);
    return (this.stmt.listEvidence.all(caseId) as EvidenceRow[]).map(evidenceView);
  }

  getEvidence(id: string): EvidenceView {
    const row = this.stmt.getEvidence.get(id) as EvidenceRow | undefined;
    if (!row) throw new Error(`no evidence ${id}`);
    return evidenceView(row);
  }

  /** Integrity belongs to the bytes: every item indexing that blob gets the result. */
  setIntegrity(sha256: string, integrity: EvidenceIntegrity, at: string): void {
    this.stmt.setIntegrity.run(integrity, at, sha256);
  }

  /** The last verification found this blob tampered or missing: a fresh copy should replace it. */
  blobSuspect(sha256: string): boolean {
    return this.stmt.blobSuspect.get(sha256) !== undefined;
  }

  // --- import ----------------------------------------------------------------------------------------

  insertCaseRecord(view: {
    id: string;
    title: string;
    status: CaseStatus;
    createdAt: string;
    updatedAt: string;
  }): void {
    this.stmt.insertCase.run(
      view.id,
      cleanTitle(view.title, 'a case title'),
      view.status,
      view.createdAt,
      view.updatedAt,
    );
  }

  insertNoteRecord(note: NoteView): void {
    checkNote(note.title, note.body);
    this.stmt.insertNote.run(
      note.id,
      note.caseId,
      note.title,
      note.body,
      note.commandId ?? null,
      note.evidenceId ?? null,
      note.createdAt,
      note.updatedAt,
    );
  }

  idTaken(table: 'cases' | 'notes' | 'transcripts' | 'evidence', id: string): boolean {
    return this.db.prepare(`SELECT 1 FROM ${table} WHERE id = ?`).get(id) !== undefined;
  }
}
