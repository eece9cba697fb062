/**
 * The content of the script library shared by the nodes of a cluster, in the JetStream object
 * store bucket `lr-library`. Content addressed: an object's name is the hex SHA-256 of its bytes, so two
 * library names with the same bytes share one object, a replaced file is a new object (the old one stays
 * for jobs prepared before the replacement), and a node can check what it fetched against the name alone.
 *
 * - publish: the node that received an upload puts the file before the upload is answered, so an
 *   acknowledged upload lives on the NATS servers (replicated) even if that node dies the next moment.
 * - ensureLocal: a node asked to serve content it lacks (or holds stale bytes of) streams the object into a
 *   temporary file next to the destination, hashing as it writes, and renames it into place only when the
 *   SHA-256 matches. Memory stays bounded: the chunks are pulled a few at a time (FETCH_CHUNKS × the 128 KiB
 *   chunk size), never the whole object. The client's `get()` is not used for that: it pushes the chunks
 *   into a ReadableStream without back-pressure, so a slow disk would let a 250 MB object pile up in memory.
 *
 * Authenticity: the object store's metadata and chunks are not sealed with the cluster key (cluster-key.ts)
 * and need not be: which object a node fetches is named by the SHA-256 of a library row, which is (sealed
 * state), and the bytes are used only when they hash to that name. Forged metadata can point at other
 * chunks or announce another size; the fetch then fails (no more bytes than announced are written, and a
 * mismatch leaves nothing behind) — a denial of that file, never other content.
 *
 * Objects are never deleted here: deleting a library name removes the local file only, since another name
 * (or a job prepared a moment ago) may still use the same content.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { Objm, type ObjectInfo, type ObjectStore } from '@nats-io/obj';
import { z } from 'zod';
import { digestFile } from '../../node/digest-stream.js';
import type { LibraryContentSync } from '../library-store.js';
import type { ClusterContext } from './cluster-context.js';
import { describeError } from '../../shared/errors.js';

export const LIBRARY_BUCKET = 'lr-library';
const SHA256 = /^[0-9a-f]{64}$/;
/** Chunks asked for per pull: with 128 KiB chunks, at most 2 MiB of an object in this process at once. */
const FETCH_CHUNKS = 16;
/** A pull that brings nothing for this long means the object is gone or the cluster is unreachable. */
const FETCH_EXPIRES_MS = 10_000;
/** Local files known to hold given content (path → identity): bounded, forgetting the oldest. */
const MAX_VERIFIED = 10_000;

/** The object's metadata comes off the network: check what we rely on before using it. */
const objectInfoSchema = z.object({
  name: z.string(),
  nuid: z.string().regex(/^[A-Za-z0-9]{1,64}$/),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  chunks: z.number().int().nonnegative(),
  deleted: z.boolean().optional(),
  digest: z.string().optional(),
});

export class LibraryObjectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LibraryObjectError';
  }
}

/** What a node knows about one local file: its content hash, valid while the file is the same inode unchanged. */
interface Verified {
  sha256: string;
  size: number;
  mtimeMs: number;
  ino: number;
}

export interface LibraryObjectsOptions {
  /** Bucket name (tests use their own). */
  bucket?: string;
}

export class LibraryObjects implements LibraryContentSync {
  /** Fetches in progress, by `sha256 path`: concurrent requests for one file share one fetch. */
  private readonly fetching = new Map<string, Promise<void>>();
  private readonly publishing = new Map<string, Promise<void>>();
  private readonly verified = new Map<string, Verified>();

  private constructor(
    private readonly ctx: ClusterContext,
    private readonly os: ObjectStore,
    readonly bucket: string,
  ) {}

  /** Opens the bucket, creating it when no node has yet (replicas: the cluster's). */
  static async open(ctx: ClusterContext, opts: LibraryObjectsOptions = {}): Promise<LibraryObjects> {
    const bucket = opts.bucket ?? LIBRARY_BUCKET;
    const objm = new Objm(ctx.js);
    let os: ObjectStore;
    try {
      os = await objm.create(bucket, { replicas: ctx.replicas, description: 'lr script library content (by SHA-256)' });
    } catch {
      // Several nodes starting at once may race to create the stream: the loser opens it.
      os = await objm.open(bucket);
    }
    return new LibraryObjects(ctx, os, bucket);
  }

  /**
   * Puts a file under its SHA-256 unless the bucket has it already. Resolves once the servers acknowledged
   * every chunk and the metadata. Throws when the bytes read are not `sha256` (the file changed under us).
   */
  async publish(path: string, sha256: string): Promise<void> {
    if (!SHA256.test(sha256)) throw new LibraryObjectError(`not a SHA-256: ${sha256.slice(0, 80)}`);
    const running = this.publishing.get(sha256);
    if (running) return running;
    const p = this.publishOnce(path, sha256).finally(() => this.publishing.delete(sha256));
    this.publishing.set(sha256, p);
    return p;
  }

  private async publishOnce(path: string, sha256: string): Promise<void> {
    const existing = await this.info(sha256);
    // Content addressed: same name, same bytes, nothing to do; unless the object's own digest says
    // otherwise (written by something else than publish): then the upload replaces it and heals it.
    if (existing && objectDigestHex(existing.digest ?? '') === sha256) return;
    // The put reads the stream one chunk at a time and waits for each chunk's ack: bounded memory.
    const rs = Readable.toWeb(
      createReadStream(path, { highWaterMark: 128 * 1024 }),
    ) as unknown as ReadableStream<Uint8Array>;
    const info = await this.os.put({ name: sha256, description: 'lr library content' }, rs);
    if (objectDigestHex(info.digest) !== sha256) {
      // The file is not what its name says: take the object down again rather than leave it for others.
      await this.os.delete(sha256).catch(() => undefined);
      throw new LibraryObjectError(
        `the bytes of ${basename(path)} changed while they were published (SHA-256 differs)`,
      );
    }
    this.ctx.log.info('library content published', { sha256, size: info.size, bucket: this.bucket });
  }

  /** Records that `path` holds `sha256` (the node wrote it itself), so serving it never re-hashes it. */
  async noteLocal(path: string, sha256: string): Promise<void> {
    const st = await stat(path).catch(() => null);
    if (st) this.remember(path, { sha256, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino });
  }

  /**
   * Makes sure `dest` holds the bytes of `sha256`: returns at once when it does (a file this node wrote or
   * checked before, or one that hashes right), else fetches the object. Throws LibraryObjectError when
   * the bucket does not have it, or the bytes fetched do not hash to `sha256` (nothing is left behind).
   */
  async ensureLocal(sha256: string, dest: string): Promise<void> {
    if (!SHA256.test(sha256)) throw new LibraryObjectError(`not a SHA-256: ${sha256.slice(0, 80)}`);
    const key = `${sha256} ${dest}`;
    const running = this.fetching.get(key);
    if (running) return running;
    const p = this.ensureOnce(sha256, dest).finally(() => this.fetching.delete(key));
    this.fetching.set(key, p);
    return p;
  }

  private async ensureOnce(sha256: string, dest: string): Promise<void> {
    const st = await stat(dest).catch(() => null);
    if (st?.isFile()) {
      const known = this.verified.get(dest);
      if (
        known &&
        known.sha256 === sha256 &&
        known.size === st.size &&
        known.mtimeMs === st.mtimeMs &&
        known.ino === st.ino
      )
        return;
      // Unknown to this process (a restart) or changed: hash it once rather than fetch it again.
      const local = await digestFile(dest);
      if (local.sha256 === sha256) {
        this.remember(dest, { sha256, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino });
        return;
      }
    }
    await this.fetch(sha256, dest);
  }

  private async fetch(sha256: string, dest: string): Promise<void> {
    const info = await this.info(sha256);
    if (!info) throw new LibraryObjectError(`library content ${sha256} is not in the cluster's object store`);
    const temp = join(dirname(dest), `.${basename(dest)}.${randomBytes(6).toString('hex')}.part`);
    const out = createWriteStream(temp, { flags: 'wx', mode: 0o600 });
    // Write errors reach us through the write callbacks; the listener keeps them from crashing the node.
    out.on('error', () => undefined);
    const hash = createHash('sha256');
    let bytes = 0;
    try {
      if (info.chunks > 0) {
        const consumer = await this.ctx.js.consumers.get(`OBJ_${this.bucket}`, {
          filter_subjects: `$O.${this.bucket}.C.${info.nuid}`,
        });
        try {
          let chunks = 0;
          while (chunks < info.chunks) {
            // Ask for no more than remain: a pull for more would wait for its expiry.
            const batch = await consumer.fetch({
              max_messages: Math.min(FETCH_CHUNKS, info.chunks - chunks),
              expires: FETCH_EXPIRES_MS,
            });
            let got = 0;
            for await (const m of batch) {
              got++;
              chunks++;
              bytes += m.data.length;
              if (bytes > info.size)
                throw new LibraryObjectError(`library content ${sha256}: more bytes than the object announces`);
              hash.update(m.data);
              await write(out, m.data);
            }
            if (got === 0)
              throw new LibraryObjectError(
                `library content ${sha256}: the object store stopped sending (${bytes} of ${info.size} bytes)`,
              );
          }
        } finally {
          await consumer.delete().catch(() => undefined);
        }
      }
      await new Promise<void>((resolve, reject) => {
        out.once('error', reject);
        out.end(() => resolve());
      });
      const got = hash.digest('hex');
      if (bytes !== info.size || got !== sha256) {
        throw new LibraryObjectError(
          `library content ${sha256} is corrupt in the object store (got ${bytes} bytes hashing to ${got}); refused`,
        );
      }
      await rename(temp, dest);
    } catch (e) {
      out.destroy();
      await rm(temp, { force: true });
      throw e;
    }
    const st = await stat(dest);
    this.remember(dest, { sha256, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino });
    this.ctx.log.info('library content fetched from the object store', { sha256, size: bytes });
  }

  /** The object's checked metadata, or null when the bucket has none (or a deleted one). */
  private async info(sha256: string): Promise<z.infer<typeof objectInfoSchema> | null> {
    let raw: ObjectInfo | null;
    try {
      raw = await this.os.info(sha256);
    } catch (e) {
      throw new LibraryObjectError(`the cluster's object store did not answer: ${describeError(e)}`);
    }
    if (!raw) return null;
    const parsed = objectInfoSchema.safeParse(raw);
    if (!parsed.success) {
      this.ctx.log.warn('malformed library object metadata skipped', {
        sha256,
        problem: parsed.error.issues[0]?.message,
      });
      return null;
    }
    return parsed.data.deleted ? null : parsed.data;
  }

  private remember(path: string, v: Verified): void {
    this.verified.delete(path);
    this.verified.set(path, v);
    if (this.verified.size > MAX_VERIFIED) {
      const oldest = this.verified.keys().next().value;
      if (oldest !== undefined) this.verified.delete(oldest);
    }
  }
}

/** `SHA-256=<base64url>` as the object store records it → hex ('' when it is something else). */
function objectDigestHex(digest: string): string {
  const prefix = 'SHA-256=';
  if (!digest.startsWith(prefix)) return '';
  return Buffer.from(digest.slice(prefix.length), 'base64url').toString('hex');
}

/** Writes a chunk and waits until the file took it: back-pressure towards NATS, one chunk in flight. */
function write(out: WriteStream, data: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    out.write(data, (e) => (e ? reject(e) : resolve()));
  });
}
