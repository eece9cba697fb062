/**
 * The script library's repository: metadata and trusted publishers in SQLite (migration 1 of db.ts),
 * file content on disk under DATA/library/<name>. Uploads are written to DATA/library/.uploads/ first
 * and renamed into place once complete and verified, so a reader never sees half a file. Names are
 * checked by the shared rule (no separators, no leading dot) before any path is built from them.
 *
 * In a cluster the content is also shared through `content` (the JetStream object store,
 * cluster/library-objects.ts): an upload is published there before it is recorded, and content is made
 * local before it is served. Without `content` (the single node) nothing of that happens.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Db } from './db.js';
import { libraryNameProblem } from '../shared/commands/library-rules.js';
import { publicKeyFingerprint } from '../node/script-signature.js';
import { describeError } from '../shared/errors.js';

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

/**
 * Where the content of library files is shared between the nodes of a cluster, addressed by SHA-256.
 * Set on the store in cluster mode only (cluster/library-objects.ts implements it).
 */
export interface LibraryContentSync {
  /** Puts the file under its SHA-256; resolves once it is safely stored (replicated) for every node. */
  publish(path: string, sha256: string): Promise<void>;
  /** Makes `path` hold the bytes of `sha256`, fetching them when this node lacks them or has others. */
  ensureLocal(sha256: string, path: string): Promise<void>;
  /** Tells it `path` holds `sha256` (written by this node), so serving it needs no check. */
  noteLocal(path: string, sha256: string): Promise<void>;
}

/**
 * The shared content store could not take or give a file (the cluster is unreachable, or the content is missing or
 * corrupt).
 */
export class LibraryContentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LibraryContentError';
  }
}

/**
 * Signature state shown to analysts: signed by a trusted publisher, unsigned, or signed by a publisher no longer
 * trusted.
 */
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
    /** The cluster's shared content; null on a single node. */
    readonly content: LibraryContentSync | null,
  ) {
    this.filesDir = join(dataDir, 'library');
    this.uploadsDir = join(this.filesDir, '.uploads');
    mkdirSync(this.uploadsDir, { recursive: true, mode: 0o700 });
    // Uploads cut short by a crash leave partial files: nothing can resume them.
    for (const f of readdirSync(this.uploadsDir)) rmSync(join(this.uploadsDir, f), { force: true });
    // Likewise fetches from the cluster's object store cut short (.<name>.<random>.part, never a library name).
    for (const f of readdirSync(this.filesDir))
      if (f.startsWith('.') && f.endsWith('.part')) rmSync(join(this.filesDir, f), { force: true });
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
   *
   * In a cluster the content is published first, before the record exists: the record is replicated to
   * the other nodes, which must find the content when they serve it; and the upload is answered only
   * once the content is stored on the NATS servers, so an acknowledged upload survives this node.
   */
  async commit(tempFile: string, file: LibraryFile, overwrite: boolean): Promise<{ replaced: boolean }> {
    const target = this.pathOf(file.name);
    if (this.content) {
      // spare a useless publish
      if (this.get(file.name) !== null && !overwrite) throw new LibraryConflictError(file.name);
      try {
        await this.content.publish(tempFile, file.sha256);
      } catch (e) {
        throw new LibraryContentError(`the cluster's library store did not take ${file.name}: ${describeError(e)}`);
      }
    }
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
    await this.content?.noteLocal(target, file.sha256);
    return { replaced: existed };
  }

  /**
   * The disk path of a file's content, ready to be read: in a cluster, fetched from the object store when
   * this node lacks it or holds other bytes under that name (replaced on another node). On a single node
   * the file is served as stored, as before. Throws LibraryContentError when the content cannot be had.
   */
  async contentPath(file: LibraryFile): Promise<string> {
    const path = this.pathOf(file.name);
    if (!this.content) return path;
    try {
      await this.content.ensureLocal(file.sha256, path);
    } catch (e) {
      throw new LibraryContentError(`library file ${file.name}: ${describeError(e)}`);
    }
    return path;
  }

  /**
   * Removes a file and its record; false when there was none. In a cluster only this node's copy goes: the
   * object in the shared store stays (it is content addressed, another name or a job already prepared may
   * use the same bytes), and other nodes' copies are no longer served once the record is gone.
   */
  async delete(name: string): Promise<boolean> {
    const path = this.pathOf(name);
    const gone = this.db.prepare('DELETE FROM library_files WHERE name = ?').run(name).changes > 0;
    await rm(path, { force: true });
    return gone;
  }

  // ---------- trusted publishers ----------
  getPublisher(name: string): Publisher | null {
    const r = this.db
      .prepare('SELECT name, public_key, added_by, added_at FROM publishers WHERE name = ?')
      .get(name) as { name: string; public_key: string; added_by: string; added_at: string } | undefined;
    return r
      ? {
          name: r.name,
          publicKey: r.public_key,
          fingerprint: publicKeyFingerprint(r.public_key),
          addedBy: r.added_by,
          addedAt: r.added_at,
        }
      : null;
  }

  listPublishers(): Publisher[] {
    const rows = this.db.prepare('SELECT name FROM publishers ORDER BY name').all() as { name: string }[];
    return rows.map((r) => this.getPublisher(r.name)).filter((p): p is Publisher => p !== null);
  }

  addPublisher(name: string, publicKey: string, addedBy: string): Publisher {
    if (this.getPublisher(name)) throw new LibraryConflictError(name, 'publisher');
    this.db
      .prepare('INSERT INTO publishers (name, public_key, added_by, added_at) VALUES (?, ?, ?, ?)')
      .run(name, publicKey, addedBy, new Date().toISOString());
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
    super(
      kind === 'file'
        ? `library file ${entry} already exists (upload with overwrite to replace it)`
        : `publisher ${entry} already exists (delete it first to change its key)`,
    );
    this.name = 'LibraryConflictError';
  }
}
