/**
 * Imports a case zip written by case-export.ts (possibly on another workstation), verified.
 *
 * Two phases. Verify: the zip's structure (zip-check.ts), then `manifest.json`, then every member streamed
 * through SHA-256 (and SHA-1/MD5 for evidence) and compared with the manifest, each into a staging folder
 * next to the evidence store; notes and transcripts are parsed there. Every problem names the member it
 * belongs to. Apply, only when there is no problem at all: evidence blobs are linked into the store (dedup),
 * then one database transaction adds the case, its evidence index, notes and transcripts. A failure there
 * removes the blobs this import created, so a failed import leaves nothing half-added.
 *
 * Ids are kept, except when the case id is already taken here (the same export imported twice): then the
 * case and everything in it get new ids, and note links follow. The imported case is not made active.
 */
import { closeSync, createReadStream, createWriteStream, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { ImportCaseResult, NoteView } from '../../shared/workstation/case-types.js';
import {
  MANIFEST_NAME,
  MAX_MANIFEST_BYTES,
  manifestSchema,
  noteBodyOf,
  transcriptLineSchema,
  type Manifest,
  type ManifestEvidence,
  type ManifestFile,
} from './case-manifest.js';
import { MAX_NOTE_BODY_CHARS, newRecordId, type CaseStore } from './case-store.js';
import type { EvidenceStore } from './evidence-store.js';
import type { FileDigest } from './hashing.js';
import { openCheckedZip, ProblemList, type CheckedZip, type ZipMember } from './zip-check.js';
import { describeErrorOneLine } from '../../shared/errors.js';

/** Longest JSON line of a transcript member: 1 Mi characters of output, escaped, plus the fields. */
const MAX_TRANSCRIPT_LINE_CHARS = 8 * 1024 * 1024;

export interface ImportOptions {
  zipPath: string;
  /** How problems about the zip as a whole name it (the uploaded file's name). */
  zipName: string;
  store: CaseStore;
  blobs: EvidenceStore;
  onProgress?: ((done: number, total: number) => void) | undefined;
  now?: Date | undefined;
}

interface Staged {
  file: string;
  digest: FileDigest;
}

export async function importCase(options: ImportOptions): Promise<ImportCaseResult> {
  const problems = new ProblemList();
  const stagingDir = options.blobs.scratchPath('import');
  await mkdir(stagingDir, { recursive: true, mode: 0o700 });
  let zip: CheckedZip | undefined;
  try {
    zip = await openCheckedZip(options.zipPath, options.zipName, problems);
    if (!zip) return failed(problems, options.zipName, 0);
    const byName = new Map(zip.members.map((m) => [m.name, m]));

    const manifest = await readManifest(zip, byName.get(MANIFEST_NAME), problems);
    if (!manifest) {
      // Without a manifest nothing can be verified against it, but the zip's own CRCs still can.
      for (const member of zip.members) {
        if (member.name === MANIFEST_NAME) continue;
        const result = await zip.read(member, {});
        if (!result.ok) problems.add(member.name, result.problem);
      }
      return failed(problems, options.zipName, 0);
    }

    const wanted = checkManifest(manifest, byName, problems);
    const total = [...wanted.values()].reduce((sum, file) => sum + file.size, 0);
    let done = 0;
    const onBytes = (n: number) => {
      done += n;
      options.onProgress?.(Math.min(done, total), total);
    };
    const staged = new Map<string, Staged>();
    let verified = problems.has(MANIFEST_NAME) ? 0 : 1;
    let index = 0;
    for (const member of zip.members) {
      if (member.name === MANIFEST_NAME) continue;
      const expected = wanted.get(member.name);
      if (!expected) {
        problems.add(member.name, 'is not listed in the manifest');
        continue;
      }
      const file = path.join(stagingDir, String(index++));
      const result = await zip.read(member, {
        sink: createWriteStream(file, { flags: 'wx', mode: 0o600 }),
        maxBytes: expected.size,
        allDigests: expected.role === 'evidence',
        onBytes,
      });
      if (!result.ok) {
        problems.add(member.name, result.problem);
        continue;
      }
      if (result.digest.size !== expected.size)
        problems.add(member.name, `holds ${result.digest.size} bytes, the manifest says ${expected.size}`);
      else if (result.sha256 !== expected.sha256)
        problems.add(
          member.name,
          `SHA-256 mismatch: the member was changed (${result.sha256}, the manifest says ${expected.sha256})`,
        );
      else {
        staged.set(member.name, { file, digest: result.digest });
        verified++;
      }
    }
    for (const item of manifest.evidence) {
      const digest = staged.get(item.path)?.digest;
      if (digest && (digest.sha1 !== item.sha1 || digest.md5 !== item.md5))
        problems.add(item.path, 'SHA-1 or MD5 differ from the manifest');
    }
    if (problems.count) return failed(problems, options.zipName, verified);

    const content = await readContent(manifest, staged, problems);
    if (!content || problems.count) return failed(problems, options.zipName, verified);
    const caseId = await apply(options, manifest, content, staged);
    return { ok: true, caseId, title: manifest.case.title, verified, problems: [] };
  } finally {
    await zip?.close();
    await rm(stagingDir, { recursive: true, force: true });
  }
}

function failed(problems: ProblemList, zipName: string, verified: number): ImportCaseResult {
  return { ok: false, verified, problems: problems.list(zipName) };
}

async function readManifest(
  zip: CheckedZip,
  member: ZipMember | undefined,
  problems: ProblemList,
): Promise<Manifest | undefined> {
  if (!member) {
    problems.add(MANIFEST_NAME, 'missing: this zip is not a case export');
    return undefined;
  }
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  const result = await zip.read(member, { sink, maxBytes: MAX_MANIFEST_BYTES });
  if (!result.ok) {
    problems.add(MANIFEST_NAME, result.problem);
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    problems.add(MANIFEST_NAME, 'is not valid JSON');
    return undefined;
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    problems.add(
      MANIFEST_NAME,
      `is not a case manifest this workstation reads: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'bad content'}`,
    );
    return undefined;
  }
  return parsed.data;
}

/**
 * The manifest's own consistency, and which zip members it expects (by name). Members it lists that the
 * zip lacks are problems here; members the zip has that it does not list are found by the caller.
 */
function checkManifest(
  manifest: Manifest,
  byName: Map<string, ZipMember>,
  problems: ProblemList,
): Map<string, ManifestFile> {
  const files = new Map<string, ManifestFile>();
  for (const file of manifest.files) {
    if (file.path === MANIFEST_NAME || files.has(file.path)) problems.add(MANIFEST_NAME, `lists ${file.path} twice`);
    files.set(file.path, file);
    if (!byName.has(file.path)) problems.add(file.path, 'is listed in the manifest but missing from the zip');
  }
  const referenced = new Set<string>();
  const expectRole = (memberPath: string, role: ManifestFile['role']) => {
    referenced.add(memberPath);
    const file = files.get(memberPath);
    if (!file) problems.add(MANIFEST_NAME, `refers to ${memberPath}, which its file list lacks`);
    else if (file.role !== role)
      problems.add(MANIFEST_NAME, `lists ${memberPath} as ${file.role}, but uses it as ${role}`);
  };
  for (const note of manifest.notes) expectRole(note.path, 'note');
  for (const session of manifest.sessions) {
    expectRole(session.path, 'transcript');
    expectRole(session.textPath, 'transcript-text');
  }
  const evidenceIds = new Set<string>();
  for (const item of manifest.evidence) {
    expectRole(item.path, 'evidence');
    evidenceIds.add(item.id);
    const file = files.get(item.path);
    if (file && (file.sha256 !== item.sha256 || file.size !== item.size))
      problems.add(MANIFEST_NAME, `evidence ${item.id} does not match the file list's entry for ${item.path}`);
  }
  for (const note of manifest.notes) {
    if (note.evidenceId && !evidenceIds.has(note.evidenceId))
      problems.add(MANIFEST_NAME, `note ${note.id} links to evidence ${note.evidenceId}, which the case lacks`);
  }
  for (const file of files.values())
    if (!referenced.has(file.path))
      problems.add(file.path, 'is listed in the manifest but belongs to no note, session or evidence');
  return files;
}

interface Content {
  bodies: Map<string, string>;
}

async function readContent(
  manifest: Manifest,
  staged: Map<string, Staged>,
  problems: ProblemList,
): Promise<Content | undefined> {
  const bodies = new Map<string, string>();
  for (const note of manifest.notes) {
    const file = staged.get(note.path);
    if (!file) return undefined;
    const body = noteBodyOf(await readFile(file.file, 'utf8'));
    if (body === undefined) problems.add(note.path, 'is not a note written by a case export (no header)');
    else if (body.length > MAX_NOTE_BODY_CHARS)
      problems.add(note.path, `is longer than a note can be (${MAX_NOTE_BODY_CHARS} characters)`);
    else bodies.set(note.id, body);
  }
  // Transcripts are only checked here (they can be large); apply() reads them again as it inserts them.
  for (const session of manifest.sessions) {
    const file = staged.get(session.path);
    if (!file) return undefined;
    const lines = createInterface({ input: createReadStream(file.file, { encoding: 'utf8' }), crlfDelay: Infinity });
    let n = 0;
    for await (const line of lines) {
      n++;
      if (line.length > MAX_TRANSCRIPT_LINE_CHARS) {
        problems.add(session.path, `line ${n} is too long for a transcript entry`);
        break;
      }
      let parsed;
      try {
        parsed = transcriptLineSchema.safeParse(JSON.parse(line));
      } catch {
        problems.add(session.path, `line ${n} is not JSON`);
        break;
      }
      if (!parsed.success) {
        problems.add(
          session.path,
          `line ${n} is not a transcript entry: ${parsed.error.issues[0]?.path.join('.') ?? ''} ${parsed.error.issues[0]?.message ?? ''}`,
        );
        break;
      }
    }
    if (n !== session.entries && !problems.has(session.path))
      problems.add(session.path, `holds ${n} entries, the manifest says ${session.entries}`);
  }
  return { bodies };
}

async function apply(
  options: ImportOptions,
  manifest: Manifest,
  content: Content,
  staged: Map<string, Staged>,
): Promise<string> {
  const { store, blobs } = options;
  const now = (options.now ?? new Date()).toISOString();
  const created: string[] = [];
  try {
    // Blobs first: their index rows must never point at nothing.
    const adopted = new Set<string>();
    for (const item of manifest.evidence) {
      if (adopted.has(item.path)) continue;
      adopted.add(item.path);
      const file = staged.get(item.path) as Staged;
      if (await blobs.adopt(file.file, file.digest, store.blobSuspect(item.sha256))) created.push(item.sha256);
    }
    return store.db.transaction(() => {
      const renew = store.idTaken('cases', manifest.case.id);
      const fresh = (table: 'cases' | 'notes' | 'transcripts' | 'evidence', id: string) =>
        renew || store.idTaken(table, id) ? newRecordId() : id;
      const caseId = fresh('cases', manifest.case.id);
      store.insertCaseRecord({ ...manifest.case, id: caseId });
      const evidenceIds = new Map<string, string>();
      for (const item of manifest.evidence) {
        const id = fresh('evidence', item.id);
        evidenceIds.set(item.id, id);
        store.addEvidence(caseId, evidenceInput(item), { state: 'ok', at: now }, id);
      }
      for (const sha256 of created) store.setIntegrity(sha256, 'ok', now);
      for (const note of manifest.notes) {
        const view: NoteView = {
          id: fresh('notes', note.id),
          caseId,
          title: note.title,
          body: content.bodies.get(note.id) ?? '',
          commandId: note.commandId,
          evidenceId: note.evidenceId ? evidenceIds.get(note.evidenceId) : undefined,
          createdAt: note.createdAt,
          updatedAt: note.updatedAt,
        };
        store.insertNoteRecord(view);
      }
      for (const session of manifest.sessions) {
        for (const line of readLinesSync((staged.get(session.path) as Staged).file)) {
          const entry = transcriptLineSchema.parse(JSON.parse(line));
          store.insertTranscriptRecord({ ...entry, id: fresh('transcripts', entry.id), caseId });
        }
      }
      return caseId;
    })();
  } catch (e) {
    for (const sha256 of created) await blobs.removeCreated(sha256);
    throw new Error(`the case verified but could not be added: ${describeErrorOneLine(e)}`, { cause: e });
  }
}

function evidenceInput(item: ManifestEvidence) {
  return {
    sha256: item.sha256,
    sha1: item.sha1,
    md5: item.md5,
    size: item.size,
    acquiredAt: item.acquiredAt,
    provenance: {
      kind: item.kind,
      name: item.name,
      deviceId: item.deviceId,
      deviceName: item.deviceName,
      originalPath: item.originalPath,
      commandId: item.commandId,
      analyst: item.analyst,
      fileTimes: item.fileTimes,
    },
  };
}

/**
 * The lines of a staged file, read synchronously: transcripts are inserted inside one database
 * transaction, which cannot wait for asynchronous reads.
 */
function* readLinesSync(file: string): Generator<string> {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(1024 * 1024);
    const decoder = new StringDecoder('utf8');
    let pending = '';
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      pending += decoder.write(buffer.subarray(0, n));
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        yield pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        newline = pending.indexOf('\n');
      }
    }
    pending += decoder.end();
    if (pending) yield pending;
  } finally {
    closeSync(fd);
  }
}
