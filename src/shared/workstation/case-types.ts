/**
 * What the workstation's cases and evidence store look like to the renderer. The store itself
 * lives in main (src/main/cases: SQLite with FTS5 + content-addressed files); these are the shapes the IPC
 * contract carries, as zod schemas (main checks every answer against them before it leaves, see
 * src/main/ipc/validated.ts) with the types derived from them. Pure TypeScript + zod: no Node, no DOM.
 */
import { z } from 'zod';

export const CASE_STATUSES = ['open', 'closed'] as const;
export type CaseStatus = (typeof CASE_STATUSES)[number];

export const caseViewSchema = z.object({
  id: z.string(),
  title: z.string(),
  status: z.enum(CASE_STATUSES),
  /** ISO date-times. */
  createdAt: z.string(),
  updatedAt: z.string(),
  /** New evidence and transcripts land in the active case. At most one case is active. */
  active: z.boolean(),
  counts: z.object({ notes: z.number(), evidence: z.number(), transcripts: z.number() }),
});
export type CaseView = z.infer<typeof caseViewSchema>;

export const noteViewSchema = z.object({
  id: z.string(),
  caseId: z.string(),
  title: z.string(),
  /** Markdown. */
  body: z.string(),
  /** The command this note is about (its transcript opens from the note). */
  commandId: z.string().optional(),
  /** The evidence item this note is about. */
  evidenceId: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type NoteView = z.infer<typeof noteViewSchema>;

/** One command of a console session as the analyst saw it: the line and its output rendered as text. */
export const transcriptSummarySchema = z.object({
  id: z.string(),
  caseId: z.string(),
  sessionId: z.string(),
  deviceId: z.string(),
  deviceName: z.string(),
  /** Undefined when the service refused the line before giving it an ID. */
  commandId: z.string().optional(),
  line: z.string(),
  status: z.string(),
  error: z.string().optional(),
  analyst: z.string(),
  startedAt: z.string(),
  endedAt: z.string(),
  /** Characters of output kept (see `outputTruncated`). */
  outputChars: z.number(),
  /**
   * The output was longer than the transcript keeps (the log keeps its first part; the console may have saved all of it
   * as evidence).
   */
  outputTruncated: z.boolean(),
});
export type TranscriptSummary = z.infer<typeof transcriptSummarySchema>;

export const transcriptEntryViewSchema = transcriptSummarySchema.extend({
  output: z.string(),
  /** Its 0-based place in its case's transcript list (to scroll the list to it), when asked one by one. */
  position: z.number().optional(),
});
export type TranscriptEntryView = z.infer<typeof transcriptEntryViewSchema>;

export const transcriptPageSchema = z.object({ total: z.number(), items: z.array(transcriptSummarySchema) });
export type TranscriptPage = z.infer<typeof transcriptPageSchema>;

export const EVIDENCE_KINDS = ['getfile', 'collect', 'output', 'imported'] as const;
export type EvidenceKind = (typeof EVIDENCE_KINDS)[number];

/** ok: the file on disk hashes to its SHA-256; tampered: it does not; missing: the file is gone. */
export const EVIDENCE_INTEGRITIES = ['unverified', 'ok', 'tampered', 'missing'] as const;
export type EvidenceIntegrity = (typeof EVIDENCE_INTEGRITIES)[number];

export const evidenceViewSchema = z.object({
  id: z.string(),
  caseId: z.string(),
  sha256: z.string(),
  sha1: z.string(),
  md5: z.string(),
  size: z.number(),
  /** Display name (base name of the original path, or the `> name` of saved output). */
  name: z.string(),
  kind: z.enum(EVIDENCE_KINDS),
  deviceId: z.string(),
  deviceName: z.string(),
  /** Path on the device ('' for saved console output). */
  originalPath: z.string(),
  commandId: z.string().optional(),
  analyst: z.string(),
  /** When the workstation stored it. */
  acquiredAt: z.string(),
  /** The file's times on the device, as the agent reported them (ISO), when known. */
  fileTimes: z.object({
    mtime: z.string().optional(),
    atime: z.string().optional(),
    ctime: z.string().optional(),
    btime: z.string().optional(),
  }),
  integrity: z.enum(EVIDENCE_INTEGRITIES),
  /** Last re-verification (ISO), if any. */
  verifiedAt: z.string().optional(),
});
export type EvidenceView = z.infer<typeof evidenceViewSchema>;

export const PREVIEW_MODES = ['text', 'hex', 'strings'] as const;
export type PreviewMode = (typeof PREVIEW_MODES)[number];
/** One preview request reads at most this many bytes from disk. */
export const MAX_PREVIEW_BYTES = 64 * 1024;

export const evidencePreviewSchema = z.object({
  mode: z.enum(PREVIEW_MODES),
  /** The byte range read: [offset, offset + length). */
  offset: z.number(),
  length: z.number(),
  /** The whole file's size. */
  size: z.number(),
  /** Display lines (control characters made visible; never interpreted). */
  lines: z.array(z.string()),
  /** Where the next range starts, undefined at the end of the file. */
  nextOffset: z.number().optional(),
});
export type EvidencePreview = z.infer<typeof evidencePreviewSchema>;

export const searchHitSchema = z.object({
  /** `evidence`: its name matched, or (with `line`) a line of a saved console output. */
  kind: z.enum(['note', 'transcript', 'evidence']),
  /** Note id, transcript entry id or evidence id. */
  id: z.string(),
  caseId: z.string(),
  caseTitle: z.string(),
  /** Note title, or the command line. */
  title: z.string(),
  /** Matched text with the matches between «» (plain text, no HTML). */
  snippet: z.string(),
  commandId: z.string().optional(),
  /** 1-based line of a saved output that matched. */
  line: z.number().optional(),
});
export type SearchHit = z.infer<typeof searchHitSchema>;

export const searchResultSchema = z.object({
  hits: z.array(searchHitSchema),
  /** Time the query took in the store (ms). */
  tookMs: z.number(),
  /** What the search read, as a sentence ("searched notes, transcripts (the first 1 MiB …) …"). */
  covered: z.string().optional(),
});
export type SearchResult = z.infer<typeof searchResultSchema>;

export const exportCaseResultSchema = z.object({
  /** Where the zip was written. */
  path: z.string(),
  bytes: z.number(),
  /** Entries in the zip (manifest included). */
  files: z.number(),
});
export type ExportCaseResult = z.infer<typeof exportCaseResultSchema>;

/** A problem found while verifying an imported zip, tied to the member it belongs to. */
export const importProblemSchema = z.object({
  /** The zip member (e.g. `evidence/<sha256>`, `notes/<id>.md`, `manifest.json`). */
  file: z.string(),
  problem: z.string(),
});
export type ImportProblem = z.infer<typeof importProblemSchema>;

export const importCaseResultSchema = z.object({
  /** True when every member verified and the case was added. */
  ok: z.boolean(),
  caseId: z.string().optional(),
  title: z.string().optional(),
  /** Members verified against the manifest. */
  verified: z.number(),
  problems: z.array(importProblemSchema),
});
export type ImportCaseResult = z.infer<typeof importCaseResultSchema>;

export const caseTaskProgressSchema = z.object({
  task: z.enum(['verify', 'export', 'import']),
  /** Evidence id, case id or upload id. */
  id: z.string(),
  done: z.number(),
  total: z.number(),
});
export type CaseTaskProgress = z.infer<typeof caseTaskProgressSchema>;
