/**
 * Receives a library upload: the request body streams into a temporary file while its SHA-256 and size
 * are computed; past the tenant's limit the read stops at once, the temporary file is deleted and the
 * client gets a 413. A signature is verified against the named publisher before the file is committed.
 */
import type { IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { PUBLISHER_NAME } from '../shared/commands/library-rules.js';
import { DigestStream, SizeLimitError } from '../node/digest-stream.js';
import { verifyScriptSignature } from '../node/script-signature.js';
import type { User } from './store.js';
import type { LibraryService } from './library-service.js';
import { LibraryConflictError, LibraryContentError, type LibraryFile } from './library-store.js';
import { RestError } from './rest-io.js';
import { describeError } from '../shared/errors.js';

const text = z.string().max(1000).default('');

/**
 * Upload metadata, from the query string (UTF-8 survives percent-encoding, unlike headers). Node limits
 * the request head to 16 KiB, which bounds what three 1000-character texts may hold once encoded.
 */
export const uploadMetaSchema = z
  .object({
    description: text,
    parametersDescription: text,
    parametersExample: text,
    overwrite: z.enum(['true', 'false']).default('false'),
    signature: z
      .string()
      .regex(/^[A-Za-z0-9+/]{86}==$/, 'must be a base64 Ed25519 signature (64 bytes)')
      .optional(),
    publisher: z.string().regex(PUBLISHER_NAME, 'not a publisher name').optional(),
  })
  .refine((m) => (m.signature === undefined) === (m.publisher === undefined), 'signature and publisher go together');
export type UploadMeta = z.infer<typeof uploadMetaSchema>;

function megabytes(n: number): string {
  return `${Math.round((n / 1024 / 1024) * 10) / 10} MB`;
}

export function tooLarge(limit: number): RestError {
  return new RestError(413, `library files are limited to ${megabytes(limit)} (${limit} bytes)`);
}

/** Streams `req` into `dest`; resolves with the digest once the file is complete on disk. */
function streamToFile(req: IncomingMessage, dest: string, maxBytes: number): Promise<{ sha256: string; size: number }> {
  return new Promise((resolve, reject) => {
    const digest = new DigestStream(maxBytes);
    const out = createWriteStream(dest, { flags: 'wx', mode: 0o600 });
    let failed = false;
    const fail = (e: Error) => {
      if (failed) return;
      failed = true;
      // Stop writing but do not destroy the request: its socket must stay up to carry the answer.
      req.unpipe(digest);
      digest.destroy();
      out.destroy();
      req.resume();
      reject(e);
    };
    digest.on('error', fail);
    out.on('error', fail);
    req.on('error', fail);
    req.on('close', () => {
      if (!req.complete) fail(new Error('the upload was interrupted'));
    });
    out.on('close', () => {
      if (!failed && digest.writableFinished) resolve({ sha256: digest.sha256(), size: digest.bytes });
    });
    req.pipe(digest).pipe(out);
  });
}

/**
 * Stores the body of `req` as library file `name`. Checks that need no byte of the body (publisher,
 * overwrite, announced length) come first. Throws RestError with the HTTP status to answer.
 */
export async function receiveUpload(
  req: IncomingMessage,
  lib: LibraryService,
  user: User,
  name: string,
  meta: UploadMeta,
): Promise<{ file: LibraryFile; replaced: boolean }> {
  const limit = lib.maxFileBytes();
  const publisher = meta.publisher ? lib.files.getPublisher(meta.publisher) : null;
  if (meta.publisher && !publisher)
    throw new RestError(400, `unknown publisher ${meta.publisher} (an admin registers it with lr publishers add)`);
  const overwrite = meta.overwrite === 'true';
  if (!overwrite && lib.files.get(name))
    throw new RestError(409, `library file ${name} already exists (upload with overwrite to replace it)`);
  const announced = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(announced) && announced > limit) throw tooLarge(limit);

  const temp = join(lib.files.uploadsDir, `${randomBytes(12).toString('hex')}.part`);
  let digest: { sha256: string; size: number };
  try {
    digest = await streamToFile(req, temp, limit);
  } catch (e) {
    await rm(temp, { force: true });
    if (e instanceof SizeLimitError) throw tooLarge(limit);
    throw new RestError(400, describeError(e));
  }
  try {
    if (
      publisher &&
      meta.signature &&
      !verifyScriptSignature(publisher.publicKey, { name, sha256: digest.sha256, size: digest.size }, meta.signature)
    ) {
      throw new RestError(
        400,
        `the signature of ${name} does not verify with publisher ${publisher.name}'s key (signed a different file or name, or with another key)`,
      );
    }
    const file: LibraryFile = {
      name,
      description: meta.description,
      parametersDescription: meta.parametersDescription,
      parametersExample: meta.parametersExample,
      size: digest.size,
      sha256: digest.sha256,
      uploadedBy: user.name,
      uploadedAt: new Date().toISOString(),
      signature: meta.signature ?? null,
      publisher: publisher?.name ?? null,
    };
    const { replaced } = await lib.files.commit(temp, file, overwrite);
    return { file, replaced };
  } catch (e) {
    await rm(temp, { force: true });
    if (e instanceof LibraryConflictError) throw new RestError(409, e.message);
    // In a cluster: the content could not be stored for the other nodes, so the upload is not taken.
    if (e instanceof LibraryContentError) throw new RestError(503, e.message);
    throw e;
  }
}
