/**
 * A pass-through stream that computes the SHA-256 and size of what flows through it and fails as soon
 * as more than `maxBytes` have passed: uploads and downloads are checked while they stream, never after
 * being held in memory, and an oversized body stops at the limit instead of filling a disk.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export class SizeLimitError extends Error {
  constructor(readonly limit: number) {
    super(`larger than the limit of ${limit} bytes`);
    this.name = 'SizeLimitError';
  }
}

export class DigestStream extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;

  constructor(private readonly maxBytes = Number.MAX_SAFE_INTEGER) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      done(new SizeLimitError(this.maxBytes));
      return;
    }
    this.hash.update(chunk);
    done(null, chunk);
  }

  /** Hex SHA-256 of everything that passed; call once, after the stream finished. */
  sha256(): string {
    return this.hash.digest('hex');
  }
}

/** SHA-256 and size of a file, from one streamed read. */
export async function digestFile(path: string, signal?: AbortSignal): Promise<{ sha256: string; size: number }> {
  const digest = new DigestStream();
  await pipeline(
    createReadStream(path),
    digest,
    async function* drain(source) {
      for await (const _chunk of source) {
        /* hashed by DigestStream */
      }
    },
    { signal },
  );
  return { sha256: digest.sha256(), size: digest.bytes };
}
