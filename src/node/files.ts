/** Small file helpers shared by the Node programs: atomic writes (secrets 0600), JSON validated on read. */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { z } from 'zod';

/**
 * A fresh temporary name beside `path`. Random, and always opened with exclusive create ('wx': O_CREAT |
 * O_EXCL, which never follows a symbolic link): a link or file planted at a predictable name in the
 * folder cannot redirect the write elsewhere, nor hand us a file with someone else's mode.
 */
function tempNameFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
}

/**
 * Replaces `path` atomically: writes a new file (exclusive create, `mode` from the start), fsyncs it and
 * renames it over the old one, so readers see the old or the new content, never a mix, even after a crash.
 * The temporary file is removed when anything fails.
 */
export function writeFileAtomic(path: string, content: string | Uint8Array, mode = 0o600): void {
  publishTemp(path, content, mode, (tmp) => renameSync(tmp, path));
}

/**
 * Like writeFileAtomic, but never replaces a file: the complete content appears under `path` (a hard link
 * of the fsynced temporary file), or the call fails with EEXIST and nothing changed.
 */
export function writeNewFileAtomic(path: string, content: string | Uint8Array, mode = 0o600): void {
  publishTemp(path, content, mode, (tmp) => {
    linkSync(tmp, path);
    rmSync(tmp, { force: true });
  });
}

function publishTemp(path: string, content: string | Uint8Array, mode: number, publish: (tmp: string) => void): void {
  const tmp = tempNameFor(path);
  const fd = openSync(tmp, 'wx', mode);
  try {
    try {
      const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
      for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    publish(tmp);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** writeFileAtomic for the asynchronous code paths (agent state files). */
export async function writeFileAtomicAsync(path: string, content: string | Uint8Array, mode = 0o600): Promise<void> {
  const tmp = tempNameFor(path);
  const handle = await open(tmp, 'wx', mode);
  try {
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** Writes a file holding secrets atomically with mode 0600 (creating its folder). */
export function writeSecretFile(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, content, 0o600);
}

/**
 * Creates a file of 32 random bytes (hex, mode 0600) when missing, e.g. an HMAC key; answers whether it was created.
 */
export function ensureRandomKeyFile(path: string): boolean {
  if (existsSync(path)) return false;
  writeSecretFile(path, randomBytes(32).toString('hex') + '\n');
  return true;
}

export function writeSecretJson(path: string, value: unknown): void {
  writeSecretFile(path, JSON.stringify(value, null, 2) + '\n');
}

/** Reads and validates a JSON file; the error is one line naming the file. */
export function readJsonFile<T>(path: string, schema: z.ZodType<T>, what: string): T {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`cannot read ${what} ${path}: ${code === 'ENOENT' ? 'no such file' : (code ?? String(e))}`, {
      cause: e,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${what} ${path} is not valid JSON`);
  }
  const r = schema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(
      `${what} ${path} is invalid: ${i ? `${i.path.join('.') || '(root)'}: ${i.message}` : 'bad content'}`,
    );
  }
  return r.data;
}
