/**
 * The script library's repository: metadata and trusted publishers in SQLite (migration 1 of db.ts),
 * file content on disk under DATA/library/<name>. Uploads are written to DATA/library/.uploads/ first
 * and renamed into place once complete and verified, so a reader never sees half a file. Names are
 * checked by the shared rule (no separators, no leading dot) before any path is built from them.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Db } from './db.js';
import { libraryNameProblem } from '../shared/library-rules.js';
import { publicKeyFingerprint } from '../node/script-signature.js';

export interface LibraryFile {
  name: string;
  description: string;
  parametersDescription: string;
  parametersExample: string;
  size: number;
  sha256: string;
  uploadedBy: string;
  uploadedAt: string;
  /** Base64 Ed25519 signature (see node/script-signature.ts), null when unsigned. */
  signature: string | null;
  publisher: string | null;
}

export interface Publisher {
  name: string;
  publicKey: string;
  fingerprint: string;
  addedBy: string;
  addedAt: string;
}

/** Signature state shown to analysts: signed by a trusted publisher, unsigned, or signed by a publisher no longer trusted. */
export type SignatureState = 'signed' | 'unsigned' | 'invalid';

interface FileRow {
  name: string;
  description: string;
  parameters_description: string;
  parameters_example: string;
  size: number;
  sha256: string;
  uploaded_by: string;
  uploaded_at: string;
  signature: string | null;
  publisher: string | null;
}

function toFile(r: FileRow): LibraryFile {
  return {
    name: r.name,
    description: r.description,
    parametersDescription: r.parameters_description,
    parametersExample: r.parameters_example,
    size: r.size,
    sha256: r.sha256,
    uploadedBy: r.uploaded_by,
    uploadedAt: r.uploaded_at,
    signature: r.signature,
    publisher: r.publisher,
  };
}

export class LibraryStore {
  readonly filesDir: string;
  readonly uploadsDir: string;

  constructor(
    private readonly db: Db,
    dataDir: string,
  ) {
    this.filesDir = join(dataDir, 'library');
    this.uploadsDir = join(this.filesDir, '.uploads');
    mkdirSync(this.uploadsDir, { recursive: true, mode: 0o700 });
    // Uploads cut short by a crash leave partial files: nothing can resume them.
    for (const f of readdirSync(this.uploadsDir)) rmSync(join(this.uploadsDir, f), { force: true });
  }

  /** Disk path of a library file; throws on a name that is not a library name (never a path escape). */
  pathOf(name: string): string {
    const problem = libraryNameProblem(name);
    if (problem) throw new Error(`invalid library file name: ${problem}`);
    return join(this.filesDir, name);
  }

  get(name: string): LibraryFile | null {
    const r = this.db.prepare('SELECT * FROM library_files WHERE name = ?').get(name) as FileRow | undefined;
    return r ? toFile(r) : null;
  }

  list(): LibraryFile[] {
    return (this.db.prepare('SELECT * FROM library_files ORDER BY name').all() as FileRow[]).map(toFile);
  }

  signatureState(f: LibraryFile): SignatureState {
    if (!f.signature || !f.publisher) return 'unsigned';
    return this.getPublisher(f.publisher) ? 'signed' : 'invalid';
  }

  /**
   * Moves a completed upload into place and records it. `overwrite` false refuses an existing name
   * (checked again here: two uploads of one name may race). Returns whether a file was replaced.
   */
  async commit(tempFile: string, file: LibraryFile, overwrite: boolean): Promise<{ replaced: boolean }> {
    const target = this.pathOf(file.name);
    // Check and record synchronously (one step for the event loop), then move the bytes in place.
    const existed = this.get(file.name) !== null;
    if (existed && !overwrite) throw new LibraryConflictError(file.name);
    this.db
      .prepare(
        `INSERT INTO library_files (name, description, parameters_description, parameters_example, size, sha256, uploaded_by, uploaded_at, signature, publisher)
         VALUES (@name, @description, @parametersDescription, @parametersExample, @size, @sha256, @uploadedBy, @uploadedAt, @signature, @publisher)
         ON CONFLICT(name) DO UPDATE SET description = excluded.description, parameters_description = excluded.parameters_description,
           parameters_example = excluded.parameters_example, size = excluded.size, sha256 = excluded.sha256, uploaded_by = excluded.uploaded_by,
           uploaded_at = excluded.uploaded_at, signature = excluded.signature, publisher = excluded.publisher`,
      )
      .run(file);
    await rename(tempFile, target);
    return { replaced: existed };
  }

  /** Removes a file and its record; false when there was none. */
  async delete(name: string): Promise<boolean> {
    const path = this.pathOf(name);
    const gone = this.db.prepare('DELETE FROM library_files WHERE name = ?').run(name).changes > 0;
    await rm(path, { force: true });
    return gone;
  }

  // ---------- trusted publishers ----------
  getPublisher(name: string): Publisher | null {
    const r = this.db.prepare('SELECT name, public_key, added_by, added_at FROM publishers WHERE name = ?').get(name) as
      | { name: string; public_key: string; added_by: string; added_at: string }
      | undefined;
    return r ? { name: r.name, publicKey: r.public_key, fingerprint: publicKeyFingerprint(r.public_key), addedBy: r.added_by, addedAt: r.added_at } : null;
  }

  listPublishers(): Publisher[] {
    const rows = this.db.prepare('SELECT name FROM publishers ORDER BY name').all() as { name: string }[];
    return rows.map((r) => this.getPublisher(r.name)).filter((p): p is Publisher => p !== null);
  }

  addPublisher(name: string, publicKey: string, addedBy: string): Publisher {
    if (this.getPublisher(name)) throw new LibraryConflictError(name, 'publisher');
    this.db.prepare('INSERT INTO publishers (name, public_key, added_by, added_at) VALUES (?, ?, ?, ?)').run(name, publicKey, addedBy, new Date().toISOString());
    return this.getPublisher(name) as Publisher;
  }

  deletePublisher(name: string): boolean {
    return this.db.prepare('DELETE FROM publishers WHERE name = ?').run(name).changes > 0;
  }
}

export class LibraryConflictError extends Error {
  constructor(
    readonly entry: string,
    kind: 'file' | 'publisher' = 'file',
  ) {
    super(kind === 'file' ? `library file ${entry} already exists (upload with overwrite to replace it)` : `publisher ${entry} already exists (delete it first to change its key)`);
    this.name = 'LibraryConflictError';
  }
}
