/**
 * The three digests an evidence item carries (SHA-256 names it; SHA-1 and MD5 are what other tools and
 * reports quote), computed in one streaming read: a 1 GiB file never sits in memory, and the event loop
 * gets control back between 1 MiB chunks.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface FileDigest {
  sha256: string;
  sha1: string;
  md5: string;
  size: number;
}

export const READ_CHUNK_BYTES = 1024 * 1024;

export class MultiHash {
  private readonly sha256: Hash = createHash('sha256');
  private readonly sha1: Hash = createHash('sha1');
  private readonly md5: Hash = createHash('md5');
  size = 0;

  update(chunk: Buffer): void {
    this.sha256.update(chunk);
    this.sha1.update(chunk);
    this.md5.update(chunk);
    this.size += chunk.length;
  }

  /** Call once, after the last chunk. */
  digest(): FileDigest {
    return {
      sha256: this.sha256.digest('hex'),
      sha1: this.sha1.digest('hex'),
      md5: this.md5.digest('hex'),
      size: this.size,
    };
  }
}

/** A pass-through that feeds a MultiHash and reports the bytes seen so far. */
export class HashingStream extends Transform {
  readonly hash = new MultiHash();

  constructor(private readonly onBytes?: (done: number) => void) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.onBytes?.(this.hash.size);
    done(null, chunk);
  }
}

async function drain(source: AsyncIterable<unknown>): Promise<void> {
  for await (const _chunk of source) {
    /* hashed on the way */
  }
}

export async function hashFile(file: string, onBytes?: (done: number) => void): Promise<FileDigest> {
  const hashing = new HashingStream(onBytes);
  await pipeline(createReadStream(file, { highWaterMark: READ_CHUNK_BYTES }), hashing, drain);
  return hashing.hash.digest();
}

/** Copies `from` to a new file `to` (0600, must not exist) and returns the digest of what was written. */
export async function copyHashing(from: string, to: string): Promise<FileDigest> {
  const hashing = new HashingStream();
  await pipeline(
    createReadStream(from, { highWaterMark: READ_CHUNK_BYTES }),
    hashing,
    createWriteStream(to, { flags: 'wx', mode: 0o600 }),
  );
  return hashing.hash.digest();
}
