/**
 * The evidence store's files: content-addressed blobs at `<root>/<first 2 hex>/<sha256>`, mode 0444.
 *
 * The app never opens a blob except to hash it or read a range for the viewer, and never executes one
 * (0444: no execute bit, and no write bit so an accidental write fails loudly). One blob can be indexed by
 * several cases (the index lives in the database); the same content is stored once.
 *
 * Moving a file in never loses it on a crash: the blob is hard-linked into place before the source is
 * removed, so at every moment the bytes exist under at least one name. The scratch folder holds only
 * cross-device copies and import staging, and is emptied when the store opens.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { chmod, link, lstat, mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { copyHashing, hashFile, type FileDigest } from './hashing.js';
import { describeError } from '../../shared/errors.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;
export const BLOB_MODE = 0o444;

export interface IngestResult extends FileDigest {
  /** The store already held these bytes: the new copy was dropped. */
  deduplicated: boolean;
}

export type BlobCheck =
  { state: 'ok'; digest: FileDigest } | { state: 'tampered'; digest: FileDigest } | { state: 'missing' };

export class EvidenceStore {
  constructor(
    readonly root: string,
    /** Scratch folder on the same file system as `root` (renames and links between them must work). */
    readonly scratch: string,
  ) {
    mkdirSync(root, { recursive: true, mode: 0o700 });
    mkdirSync(scratch, { recursive: true, mode: 0o700 });
  }

  /** Removes what a previous run left in the scratch folder (partial copies, abandoned imports). */
  clearScratch(): void {
    // Read-only files go too: removing a name needs write access to its folder (0700, ours), not to the file.
    for (const name of readdirSync(this.scratch))
      rmSync(path.join(this.scratch, name), { recursive: true, force: true });
  }

  blobPath(sha256: string): string {
    if (!SHA256_HEX.test(sha256)) throw new Error(`not a SHA-256: ${JSON.stringify(sha256.slice(0, 80))}`);
    return path.join(this.root, sha256.slice(0, 2), sha256);
  }

  /** A fresh path in the scratch folder. */
  scratchPath(prefix: string): string {
    return path.join(this.scratch, `${prefix}-${randomBytes(8).toString('hex')}`);
  }

  /**
   * Moves `file` into the store under its SHA-256. With `expectedSha256`, a file whose hash differs is
   * refused and left where it was. The source is gone afterwards (stored, or dropped as a duplicate).
   * `replaceExisting(sha256)` says when a blob already stored under that name is known to be damaged (a
   * verification found it tampered): the fresh copy then replaces it instead of being dropped.
   */
  async ingest(
    file: string,
    expectedSha256?: string,
    replaceExisting?: (sha256: string) => boolean,
  ): Promise<IngestResult> {
    const info = await lstat(file).catch((e: NodeJS.ErrnoException) => {
      throw new Error(
        `cannot store ${file} as evidence: ${e.code === 'ENOENT' ? 'no such file' : (e.code ?? e.message)}`,
      );
    });
    if (!info.isFile()) throw new Error(`cannot store ${file} as evidence: not a regular file`);
    const digest = await hashFile(file);
    if (expectedSha256 && expectedSha256.toLowerCase() !== digest.sha256) {
      throw new Error(
        `evidence refused: ${path.basename(file)} hashes to ${digest.sha256}, the transfer verified ${expectedSha256.toLowerCase()}; the file is left at ${file}`,
      );
    }
    const target = this.blobPath(digest.sha256);
    await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    let source = file;
    let copied: string | undefined;
    try {
      // link() fails across file systems: then copy into the scratch folder (same file system as the
      // store), checking the copy against the digest just computed, and link that.
      if (await sameDevice(file, this.root)) {
        await chmod(file, BLOB_MODE);
      } else {
        copied = this.scratchPath('copy');
        const copy = await copyHashing(file, copied);
        if (copy.sha256 !== digest.sha256)
          throw new Error(`evidence refused: ${file} changed while it was being stored`);
        await chmod(copied, BLOB_MODE);
        source = copied;
      }
      const created = await this.place(source, target, digest.size, replaceExisting?.(digest.sha256) ?? false);
      await rm(file, { force: true });
      return { ...digest, deduplicated: !created };
    } finally {
      if (copied) await rm(copied, { force: true });
    }
  }

  /**
   * Puts a file the caller already hashed (an import's staged member, in the scratch folder) into the
   * store. Returns whether a new blob was created (false: the store had it), so a failed import can
   * remove exactly what it added.
   */
  async adopt(staged: string, digest: FileDigest, replaceExisting = false): Promise<boolean> {
    const target = this.blobPath(digest.sha256);
    await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    await chmod(staged, BLOB_MODE);
    const created = await this.place(staged, target, digest.size, replaceExisting);
    await rm(staged, { force: true });
    return created;
  }

  /** Removes a blob this process has just created (rollback of a failed import). */
  async removeCreated(sha256: string): Promise<void> {
    await rm(this.blobPath(sha256), { force: true });
  }

  async size(sha256: string): Promise<number | undefined> {
    try {
      return (await stat(this.blobPath(sha256))).size;
    } catch {
      return undefined;
    }
  }

  /** Hashes a blob again and says whether it still matches its name. */
  async check(sha256: string, onBytes?: (done: number) => void): Promise<BlobCheck> {
    const file = this.blobPath(sha256);
    try {
      const digest = await hashFile(file, onBytes);
      return { state: digest.sha256 === sha256 ? 'ok' : 'tampered', digest };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'missing' };
      throw new Error(`cannot read evidence ${sha256}: ${(e as NodeJS.ErrnoException).code ?? describeError(e)}`, {
        cause: e,
      });
    }
  }

  /**
   * Links `source` to `target` without ever replacing an existing blob (link(2) fails on an existing name,
   * rename(2) would not). Returns true when it created the blob. An existing blob of another size is
   * damaged (same name, so same hash claimed): the new, verified copy replaces it, as it does when the
   * caller knows the existing one is damaged.
   */
  private async place(source: string, target: string, size: number, replaceExisting = false): Promise<boolean> {
    try {
      await link(source, target);
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // EEXIST: stored already. The others: file systems without hard links (FAT, some network shares),
      // where the duplicate check and the rename are two steps.
      if (code !== 'EEXIST' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') {
        throw new Error(`cannot store evidence ${path.basename(target)}: ${code ?? describeError(e)}`, { cause: e });
      }
      const existing = await stat(target).catch(() => undefined);
      if (existing?.size === size && !replaceExisting) return false;
      await rename(source, target);
      return true;
    }
  }
}

async function sameDevice(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([stat(a), stat(b)]);
  return sa.dev === sb.dev;
}
