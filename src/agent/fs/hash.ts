/**
 * Streamed hashing: every requested digest is computed from ONE sequential read of the file (1 MiB
 * chunks), so a 30 GB file is read once, never held in memory, and the read stops as soon as the job is
 * cancelled.
 */
import { createHash, type Hash } from 'node:crypto';
import { constants as fsc, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { errorCode } from './fs-errors.js';

export type HashAlgorithm = 'md5' | 'sha1' | 'sha256';

export const HASH_CHUNK_BYTES = 1024 * 1024;

/** Raised when the job's signal aborts a hash in progress. */
export class HashAbortedError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'HashAbortedError';
  }
}

// O_NONBLOCK: opening a FIFO that was swapped in after our stat must not hang a libuv thread.
// O_NOATIME: a forensic read should not change the evidence's access time (Linux only, needs ownership
// or CAP_FOWNER, hence the retry without it). Both are 0 where the platform lacks them.
const BASE_FLAGS = fsc.O_RDONLY | (fsc.O_NONBLOCK ?? 0) | (fsc.O_NOCTTY ?? 0);
const NOATIME = fsc.O_NOATIME ?? 0;

/** Opens a file for a forensic read (see flags above). Throws Node's error as is (ENOENT, EACCES...). */
export async function openForReading(file: string): Promise<FileHandle> {
  if (NOATIME) {
    try {
      return await fsp.open(file, BASE_FLAGS | NOATIME);
    } catch (err) {
      if (errorCode(err) !== 'EPERM') throw err;
    }
  }
  return fsp.open(file, BASE_FLAGS);
}

export interface HashOptions {
  signal?: AbortSignal;
  /** Sees each chunk in order (fileinfo takes the magic bytes from the first one instead of re-reading). */
  onChunk?: (chunk: Buffer) => void;
}

/** Hashes an open file from offset 0 to its end. Returns lower-case hex digests by algorithm. */
export async function hashHandle<A extends HashAlgorithm>(
  handle: FileHandle,
  algorithms: readonly A[],
  options: HashOptions = {},
): Promise<Record<A, string>> {
  const hashes = algorithms.map((a): [A, Hash] => [a, createHash(a)]);
  const { signal, onChunk } = options;
  if (signal?.aborted) throw new HashAbortedError();
  const stream = handle.createReadStream({ start: 0, highWaterMark: HASH_CHUNK_BYTES, autoClose: false });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (signal?.aborted) throw new HashAbortedError();
      for (const [, h] of hashes) h.update(chunk);
      onChunk?.(chunk);
    }
  } finally {
    stream.destroy();
  }
  const out = {} as Record<A, string>;
  for (const [a, h] of hashes) out[a] = h.digest('hex');
  return out;
}

/** Opens, hashes and closes a file. */
export async function hashFile<A extends HashAlgorithm>(
  file: string,
  algorithms: readonly A[],
  options: HashOptions = {},
): Promise<Record<A, string>> {
  const handle = await openForReading(file);
  try {
    return await hashHandle(handle, algorithms, options);
  } finally {
    await handle.close();
  }
}
