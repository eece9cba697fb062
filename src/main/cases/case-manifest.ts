/**
 * `manifest.json` of a case export: what the zip holds and the SHA-256 and size of every member, so that
 * an import on another workstation can verify each byte and say which member a damaged byte belongs to.
 * Evidence entries carry their full provenance. Also the layout of the members (paths, the note header)
 * shared by case-export.ts and case-import.ts.
 */
import { z } from 'zod';
import { CASE_STATUSES, EVIDENCE_KINDS } from '../../shared/workstation/case-types.js';

export const MANIFEST_NAME = 'manifest.json';
export const MANIFEST_FORMAT = 'lr-case-export';
export const MANIFEST_VERSION = 1;
/** A manifest is metadata; anything bigger is not one of ours. */
export const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

const id = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const iso = z.string().min(1).max(40);
const text = (max: number) => z.string().max(max);
const size = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const memberPath = z.string().min(1).max(512);

export const MEMBER_ROLES = ['note', 'transcript', 'transcript-text', 'evidence'] as const;

export const manifestFileSchema = z.strictObject({
  path: memberPath,
  role: z.enum(MEMBER_ROLES),
  sha256,
  size,
});

export const manifestNoteSchema = z.strictObject({
  id,
  path: memberPath,
  title: text(200),
  commandId: text(64).optional(),
  evidenceId: id.optional(),
  createdAt: iso,
  updatedAt: iso,
});

export const manifestSessionSchema = z.strictObject({
  sessionId: text(200),
  deviceId: text(200),
  deviceName: text(500),
  /** JSON lines, one transcript entry each (what the import reads). */
  path: memberPath,
  /** The same entries as plain text, for a reader without the app. */
  textPath: memberPath,
  entries: z.number().int().nonnegative(),
});

export const manifestEvidenceSchema = z.strictObject({
  id,
  path: memberPath,
  sha256,
  sha1: z.string().regex(/^[0-9a-f]{40}$/),
  md5: z.string().regex(/^[0-9a-f]{32}$/),
  size,
  name: text(1000),
  kind: z.enum(EVIDENCE_KINDS),
  deviceId: text(200),
  deviceName: text(500),
  originalPath: text(8192),
  commandId: text(64).optional(),
  analyst: text(200),
  acquiredAt: iso,
  fileTimes: z.strictObject({
    mtime: iso.optional(),
    atime: iso.optional(),
    ctime: iso.optional(),
    btime: iso.optional(),
  }),
  integrity: z.enum(['unverified', 'ok', 'tampered', 'missing']),
  verifiedAt: iso.optional(),
});

export const manifestSchema = z.strictObject({
  format: z.literal(MANIFEST_FORMAT),
  version: z.literal(MANIFEST_VERSION),
  exportedAt: iso,
  generator: text(200),
  case: z.strictObject({
    id,
    title: z.string().trim().min(1).max(200),
    status: z.enum(CASE_STATUSES),
    createdAt: iso,
    updatedAt: iso,
  }),
  files: z.array(manifestFileSchema).max(1_000_000),
  notes: z.array(manifestNoteSchema),
  sessions: z.array(manifestSessionSchema),
  evidence: z.array(manifestEvidenceSchema),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestFile = z.infer<typeof manifestFileSchema>;
export type ManifestEvidence = z.infer<typeof manifestEvidenceSchema>;

/** One line of a session's `.jsonl` member. */
export const transcriptLineSchema = z.strictObject({
  id,
  sessionId: text(200),
  deviceId: text(200),
  deviceName: text(500),
  commandId: text(64).optional(),
  line: z.string(),
  status: text(100),
  error: z.string().optional(),
  analyst: text(200),
  startedAt: iso,
  endedAt: iso,
  outputChars: z.number().int().nonnegative(),
  outputTruncated: z.boolean(),
  output: z.string(),
});
export type TranscriptLine = z.infer<typeof transcriptLineSchema>;

export const notePath = (noteId: string): string => `notes/${noteId}.md`;
export const evidencePath = (sha: string): string => `evidence/${sha}`;

/** A session id made safe as a member name (ids are ours, but a session id is the service's). */
export function sessionFileStem(sessionId: string, taken: Set<string>): string {
  const base = sessionId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 80) || 'session';
  let stem = base;
  for (let n = 2; taken.has(stem); n++) stem = `${base}-${n}`;
  taken.add(stem);
  return stem;
}

/**
 * A note member: a front-matter header (values JSON-encoded, so none holds a raw newline and the first
 * `\n---\n` closes it), a blank line, then the body exactly as typed.
 */
export function noteMarkdown(header: Record<string, string | undefined>, body: string): string {
  const lines = Object.entries(header)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([key, value]) => `${key}: ${JSON.stringify(value)}`);
  return `---\n${lines.join('\n')}\n---\n\n${body}`;
}

/** The body of a note member written by noteMarkdown, or undefined when it is not one. */
export function noteBodyOf(markdown: string): string | undefined {
  if (!markdown.startsWith('---\n')) return undefined;
  const end = markdown.indexOf('\n---\n', 3);
  if (end < 0) return undefined;
  const rest = markdown.slice(end + 5);
  return rest.startsWith('\n') ? rest.slice(1) : undefined;
}
