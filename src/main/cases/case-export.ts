/**
 * Writes a case as a zip: notes as markdown, transcripts (JSON lines for the import, plain text for a
 * reader), the evidence files, and `manifest.json` with every member's SHA-256 and size and the evidence's
 * provenance (see case-manifest.ts).
 *
 * Everything streams: members are hashed on their way into the zip (the manifest, added last, is built
 * from those hashes), transcripts are paged out of the database, evidence is read from the store in
 * chunks. Evidence is STORED, not deflated, so a changed byte in the zip is a changed byte of that member
 * (zip64 is used automatically past 4 GiB). The evidence is re-hashed while it is copied: a blob that no
 * longer matches its SHA-256 fails the export (and is marked tampered) rather than leave in a zip that
 * claims it is intact. The zip is written as `.part` and renamed when complete.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { finished } from 'node:stream/promises';
import yazl from 'yazl';
import type {
  CaseView,
  EvidenceView,
  ExportCaseResult,
  NoteView,
  TranscriptEntryView,
} from '../../shared/workstation/case-types.js';
import type { CaseDb } from './case-db.js';
import {
  MANIFEST_FORMAT,
  MANIFEST_NAME,
  MANIFEST_VERSION,
  evidencePath,
  noteMarkdown,
  notePath,
  sessionFileStem,
  type Manifest,
  type ManifestFile,
  type TranscriptLine,
} from './case-manifest.js';
import type { CaseStore } from './case-store.js';
import type { EvidenceStore } from './evidence-store.js';
import { READ_CHUNK_BYTES } from './hashing.js';
import { describeError } from '../../shared/errors.js';

/** Transcript entries read from the database per page (each can hold 1 MiB of output). */
const TRANSCRIPT_PAGE = 50;

export interface ExportOptions {
  store: CaseStore;
  blobs: EvidenceStore;
  caseId: string;
  outDir: string;
  /** Bytes written so far of about `total`. */
  onProgress?: ((done: number, total: number) => void) | undefined;
  generator?: string | undefined;
  now?: Date | undefined;
  /** Aborting stops the export and removes what was written. */
  signal?: AbortSignal | undefined;
}

/** A pass-through hashing what goes into one zip member. */
class MemberHash extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;

  constructor(private readonly onBytes: (n: number) => void) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.onBytes(chunk.length);
    done(null, chunk);
  }

  sha256(): string {
    return this.hash.digest('hex');
  }
}

/** `case-phishing-web01-20250314T092611.zip` (local time), with `-2`, `-3`... if that name is taken. */
export function exportFileName(title: string, now: Date, dir: string): string {
  const slug =
    title
      .toLowerCase()
      .normalize('NFKD')
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40)
      .replace(/-+$/, '') || 'case';
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}T${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  let name = `case-${slug}-${stamp}.zip`;
  for (let n = 2; existsSync(path.join(dir, name)) || existsSync(path.join(dir, `${name}.part`)); n++)
    name = `case-${slug}-${stamp}-${n}.zip`;
  return name;
}

function transcriptText(entry: TranscriptEntryView): string {
  const head = `[${entry.startedAt} → ${entry.endedAt}] ${entry.analyst}@${entry.deviceName}> ${entry.line}`;
  const tail = `(${entry.commandId ? `command ${entry.commandId}, ` : ''}${entry.status}${entry.error ? `: ${entry.error}` : ''})`;
  const output = entry.output.endsWith('\n') || entry.output === '' ? entry.output : `${entry.output}\n`;
  return `${head}\n${output}${tail}\n\n`;
}

function transcriptLine(entry: TranscriptEntryView): TranscriptLine {
  return {
    id: entry.id,
    sessionId: entry.sessionId,
    deviceId: entry.deviceId,
    deviceName: entry.deviceName,
    commandId: entry.commandId,
    line: entry.line,
    status: entry.status,
    error: entry.error,
    analyst: entry.analyst,
    startedAt: entry.startedAt,
    endedAt: entry.endedAt,
    outputChars: entry.outputChars,
    outputTruncated: entry.outputTruncated,
    output: entry.output,
  };
}

interface SessionInfo {
  session_id: string;
  device_id: string;
  device_name: string;
  entries: number;
}

/** A session's entries, a page at a time (no statement stays open between pages). */
async function* sessionEntries(
  db: CaseDb,
  store: CaseStore,
  caseId: string,
  sessionId: string,
): AsyncGenerator<TranscriptEntryView> {
  const page = db.prepare(
    'SELECT id, seq FROM transcripts WHERE case_id = ? AND session_id = ? AND seq > ? ORDER BY seq LIMIT ?',
  );
  let after = 0;
  for (;;) {
    const rows = page.all(caseId, sessionId, after, TRANSCRIPT_PAGE) as { id: string; seq: number }[];
    if (rows.length === 0) return;
    for (const row of rows) yield store.getTranscript(row.id);
    after = (rows[rows.length - 1] as { seq: number }).seq;
  }
}

export async function exportCase(options: ExportOptions): Promise<ExportCaseResult> {
  const { store, blobs, caseId, outDir } = options;
  const now = options.now ?? new Date();
  const kase: CaseView = store.getCase(caseId);
  const notes: NoteView[] = store.listNotes(caseId);
  const evidence: EvidenceView[] = store.listEvidence(caseId);
  const sessions = store.db
    .prepare(
      `SELECT session_id, min(device_id) AS device_id, min(device_name) AS device_name, count(*) AS entries
      FROM transcripts WHERE case_id = ? GROUP BY session_id ORDER BY min(seq)`,
    )
    .all(caseId) as SessionInfo[];

  // Every blob must be there, whole, before anything is written.
  const blobsBySha = new Map<string, EvidenceView>();
  for (const item of evidence) blobsBySha.set(item.sha256, item);
  for (const item of blobsBySha.values()) {
    const onDisk = await blobs.size(item.sha256);
    if (onDisk === undefined)
      throw new Error(`cannot export case ${caseId}: evidence ${item.name} (${item.id}) is missing from the store`);
    if (onDisk !== item.size)
      throw new Error(
        `cannot export case ${caseId}: evidence ${item.name} (${item.id}) has changed on disk (${onDisk} bytes, ${item.size} recorded)`,
      );
  }

  const transcriptChars = store.db
    .prepare('SELECT coalesce(sum(output_chars + length(line)), 0) FROM transcripts WHERE case_id = ?')
    .pluck()
    .get(caseId) as number;
  const total =
    [...blobsBySha.values()].reduce((sum, item) => sum + item.size, 0) +
    notes.reduce((sum, n) => sum + n.body.length, 0) +
    2 * transcriptChars;
  let done = 0;
  const progress = (n: number) => {
    done += n;
    options.onProgress?.(Math.min(done, total), total);
  };

  const name = exportFileName(kase.title, now, outDir);
  const target = path.join(outDir, name);
  const part = `${target}.part`;
  const zip = new yazl.ZipFile();
  const out = createWriteStream(part, { flags: 'wx', mode: 0o600 });
  const files: ManifestFile[] = [];
  const failures: string[] = [];
  /** Member sources still open: a failed export closes them (their files stay open otherwise). */
  const inputs = new Set<Readable>();
  let streamError: Error | undefined;
  const fail = (e: Error) => {
    streamError ??= e;
    out.destroy(e);
    for (const input of inputs) input.destroy();
  };
  zip.on('error', fail);
  zip.outputStream.on('error', fail);
  const cancelled = new Error(`the export of case ${caseId} was cancelled; nothing was written`);
  const onAbort = () => fail(cancelled);
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  zip.outputStream.pipe(out);
  const mtime = now;

  /** Adds a member whose bytes come from `source`, recording its hash once it has streamed. */
  const addStream = (
    memberPath: string,
    role: ManifestFile['role'],
    source: () => Readable,
    options: { compress: boolean; size?: number },
    check?: (sha256: string, bytes: number) => void,
  ) => {
    zip.addReadStreamLazy(
      memberPath,
      {
        compress: options.compress,
        mtime,
        mode: 0o100444,
        ...(options.size === undefined ? {} : { size: options.size }),
      },
      (cb) => {
        const hashing = new MemberHash(progress);
        const input = source();
        inputs.add(input);
        input.on('close', () => inputs.delete(input));
        input.on('error', fail);
        hashing.on('error', fail);
        hashing.on('end', () => {
          const sha256 = hashing.sha256();
          files.push({ path: memberPath, role, sha256, size: hashing.bytes });
          check?.(sha256, hashing.bytes);
        });
        cb(null, input.pipe(hashing));
      },
    );
  };

  const evidenceById = new Map(evidence.map((item) => [item.id, item]));
  const sessionStems = new Set<string>();
  const manifestSessions: Manifest['sessions'] = [];
  const transcriptOfCommand = new Map<string, string>();

  for (const session of sessions) {
    const stem = sessionFileStem(session.session_id, sessionStems);
    const jsonl = `transcripts/${stem}.jsonl`;
    const txt = `transcripts/${stem}.txt`;
    manifestSessions.push({
      sessionId: session.session_id,
      deviceId: session.device_id,
      deviceName: session.device_name,
      path: jsonl,
      textPath: txt,
      entries: session.entries,
    });
    for (const row of store.db
      .prepare('SELECT command_id FROM transcripts WHERE case_id = ? AND session_id = ? AND command_id IS NOT NULL')
      .pluck()
      .all(caseId, session.session_id) as string[]) {
      transcriptOfCommand.set(row, txt);
    }
    addStream(
      jsonl,
      'transcript',
      () =>
        Readable.from(
          (async function* () {
            for await (const entry of sessionEntries(store.db, store, caseId, session.session_id))
              yield Buffer.from(`${JSON.stringify(transcriptLine(entry))}\n`);
          })(),
        ),
      { compress: true },
    );
    addStream(
      txt,
      'transcript-text',
      () =>
        Readable.from(
          (async function* () {
            yield Buffer.from(
              `# Session ${session.session_id} on ${session.device_name} (${session.device_id}), case "${kase.title}"\n\n`,
            );
            for await (const entry of sessionEntries(store.db, store, caseId, session.session_id))
              yield Buffer.from(transcriptText(entry));
          })(),
        ),
      { compress: true },
    );
  }

  for (const note of notes) {
    const linked = note.evidenceId ? evidenceById.get(note.evidenceId) : undefined;
    const markdown = noteMarkdown(
      {
        title: note.title,
        note: note.id,
        case: `${kase.title} (${kase.id})`,
        created: note.createdAt,
        updated: note.updatedAt,
        command: note.commandId,
        transcript: note.commandId ? transcriptOfCommand.get(note.commandId) : undefined,
        evidence: linked ? `${linked.name} (${evidencePath(linked.sha256)})` : note.evidenceId,
      },
      note.body,
    );
    addStream(notePath(note.id), 'note', () => Readable.from([Buffer.from(markdown)]), { compress: true });
  }

  for (const item of blobsBySha.values()) {
    addStream(
      evidencePath(item.sha256),
      'evidence',
      () => createReadStream(blobs.blobPath(item.sha256), { highWaterMark: READ_CHUNK_BYTES }),
      { compress: false, size: item.size },
      (sha256) => {
        if (sha256 === item.sha256) return;
        store.setIntegrity(item.sha256, 'tampered', new Date().toISOString());
        failures.push(`evidence ${item.name} (${item.id}) no longer matches its SHA-256`);
      },
    );
  }

  // Last: its lazy stream is opened only after every other member has streamed, so all hashes are known.
  zip.addReadStreamLazy(MANIFEST_NAME, { compress: true, mtime, mode: 0o100444 }, (cb) => {
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      version: MANIFEST_VERSION,
      exportedAt: now.toISOString(),
      generator: options.generator ?? 'lr-workstation',
      case: {
        id: kase.id,
        title: kase.title,
        status: kase.status,
        createdAt: kase.createdAt,
        updatedAt: kase.updatedAt,
      },
      files,
      notes: notes.map((n) => ({
        id: n.id,
        path: notePath(n.id),
        title: n.title,
        commandId: n.commandId,
        evidenceId: n.evidenceId,
        createdAt: n.createdAt,
        updatedAt: n.updatedAt,
      })),
      sessions: manifestSessions,
      evidence: evidence.map((item) => ({
        id: item.id,
        path: evidencePath(item.sha256),
        sha256: item.sha256,
        sha1: item.sha1,
        md5: item.md5,
        size: item.size,
        name: item.name,
        kind: item.kind,
        deviceId: item.deviceId,
        deviceName: item.deviceName,
        originalPath: item.originalPath,
        commandId: item.commandId,
        analyst: item.analyst,
        acquiredAt: item.acquiredAt,
        fileTimes: item.fileTimes,
        integrity: item.integrity,
        verifiedAt: item.verifiedAt,
      })),
    };
    cb(null, Readable.from([Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`)]));
  });
  zip.end();

  try {
    await finished(out);
    if (streamError) throw streamError;
    if (failures.length)
      throw new Error(`the export of case ${caseId} was not written: ${failures.join('; ')} (verify it)`);
    await rename(part, target);
  } catch (e) {
    for (const input of inputs) input.destroy();
    await rm(part, { force: true });
    if (streamError === cancelled) throw cancelled;
    throw new Error(
      e instanceof Error && e.message.startsWith('the export')
        ? e.message
        : `cannot export case ${caseId}: ${describeError(e)}`,
      { cause: e },
    );
  }
  options.signal?.removeEventListener('abort', onAbort);
  options.onProgress?.(total, total);
  return { path: target, bytes: (await stat(target)).size, files: files.length + 1 };
}
