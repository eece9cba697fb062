/**
 * What the workstation's cases and evidence store look like to the renderer. The store itself
 * lives in main (src/main/cases: SQLite with FTS5 + content-addressed files); these are the shapes the IPC
 * contract carries. Pure TypeScript: no Node, no DOM.
 */

export const CASE_STATUSES = ['open', 'closed'] as const;
export type CaseStatus = (typeof CASE_STATUSES)[number];

export interface CaseView {
  id: string;
  title: string;
  status: CaseStatus;
  /** ISO date-times. */
  createdAt: string;
  updatedAt: string;
  /** New evidence and transcripts land in the active case. At most one case is active. */
  active: boolean;
  counts: { notes: number; evidence: number; transcripts: number };
}

export interface NoteView {
  id: string;
  caseId: string;
  title: string;
  /** Markdown. */
  body: string;
  /** The command this note is about (its transcript opens from the note). */
  commandId?: string | undefined;
  /** The evidence item this note is about. */
  evidenceId?: string | undefined;
  createdAt: string;
  updatedAt: string;
}

/** One command of a console session as the analyst saw it: the line and its output rendered as text. */
export interface TranscriptSummary {
  id: string;
  caseId: string;
  sessionId: string;
  deviceId: string;
  deviceName: string;
  /** Undefined when the service refused the line before giving it an ID. */
  commandId?: string | undefined;
  line: string;
  status: string;
  error?: string | undefined;
  analyst: string;
  startedAt: string;
  endedAt: string;
  /** Characters of output kept (see `outputTruncated`). */
  outputChars: number;
  /** The output was longer than the transcript keeps (the log keeps its first part; the console may have saved all of it as evidence). */
  outputTruncated: boolean;
}

export interface TranscriptEntryView extends TranscriptSummary {
  output: string;
  /** Its 0-based place in its case's transcript list (to scroll the list to it), when asked one by one. */
  position?: number | undefined;
}

export const EVIDENCE_KINDS = ['getfile', 'collect', 'output', 'imported'] as const;
export type EvidenceKind = (typeof EVIDENCE_KINDS)[number];

/** ok: the file on disk hashes to its SHA-256; tampered: it does not; missing: the file is gone. */
export type EvidenceIntegrity = 'unverified' | 'ok' | 'tampered' | 'missing';

export interface EvidenceView {
  id: string;
  caseId: string;
  sha256: string;
  sha1: string;
  md5: string;
  size: number;
  /** Display name (base name of the original path, or the `> name` of saved output). */
  name: string;
  kind: EvidenceKind;
  deviceId: string;
  deviceName: string;
  /** Path on the device ('' for saved console output). */
  originalPath: string;
  commandId?: string | undefined;
  analyst: string;
  /** When the workstation stored it. */
  acquiredAt: string;
  /** The file's times on the device, as the agent reported them (ISO), when known. */
  fileTimes: { mtime?: string | undefined; atime?: string | undefined; ctime?: string | undefined; btime?: string | undefined };
  integrity: EvidenceIntegrity;
  /** Last re-verification (ISO), if any. */
  verifiedAt?: string | undefined;
}

export const PREVIEW_MODES = ['text', 'hex', 'strings'] as const;
export type PreviewMode = (typeof PREVIEW_MODES)[number];
/** One preview request reads at most this many bytes from disk. */
export const MAX_PREVIEW_BYTES = 64 * 1024;

export interface EvidencePreview {
  mode: PreviewMode;
  /** The byte range read: [offset, offset + length). */
  offset: number;
  length: number;
  /** The whole file's size. */
  size: number;
  /** Display lines (control characters made visible; never interpreted). */
  lines: string[];
  /** Where the next range starts, undefined at the end of the file. */
  nextOffset?: number | undefined;
}

export interface SearchHit {
  /** `evidence`: its name matched, or (with `line`) a line of a saved console output. */
  kind: 'note' | 'transcript' | 'evidence';
  /** Note id, transcript entry id or evidence id. */
  id: string;
  caseId: string;
  caseTitle: string;
  /** Note title, or the command line. */
  title: string;
  /** Matched text with the matches between «» (plain text, no HTML). */
  snippet: string;
  commandId?: string | undefined;
  /** 1-based line of a saved output that matched. */
  line?: number | undefined;
}

export interface SearchResult {
  hits: SearchHit[];
  /** Time the query took in the store (ms). */
  tookMs: number;
  /** What the search read, as a sentence ("searched notes, transcripts (the first 1 MiB …) …"). */
  covered?: string | undefined;
}

export interface ExportCaseResult {
  /** Where the zip was written. */
  path: string;
  bytes: number;
  /** Entries in the zip (manifest included). */
  files: number;
}

/** A problem found while verifying an imported zip, tied to the member it belongs to. */
export interface ImportProblem {
  /** The zip member (e.g. `evidence/<sha256>`, `notes/<id>.md`, `manifest.json`). */
  file: string;
  problem: string;
}

export interface ImportCaseResult {
  /** True when every member verified and the case was added. */
  ok: boolean;
  caseId?: string | undefined;
  title?: string | undefined;
  /** Members verified against the manifest. */
  verified: number;
  problems: ImportProblem[];
}

export interface CaseTaskProgress {
  task: 'verify' | 'export' | 'import';
  /** Evidence id, case id or upload id. */
  id: string;
  done: number;
  total: number;
}
