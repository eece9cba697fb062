/** Small file helpers shared by the Node programs: secrets are written 0600, JSON is validated on read. */
import { mkdirSync, readFileSync, writeFileSync, renameSync, chmodSync } from 'node:fs';
import { dirname } from 'node:path';
import type { z } from 'zod';

/** Writes a file holding secrets atomically with mode 0600 (rename over the old one). */
export function writeSecretFile(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, content, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
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
    throw new Error(`cannot read ${what} ${path}: ${code === 'ENOENT' ? 'no such file' : code ?? String(e)}`);
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
    throw new Error(`${what} ${path} is invalid: ${i ? `${i.path.join('.') || '(root)'}: ${i.message}` : 'bad content'}`);
  }
  return r.data;
}
