/**
 * Files on their way from the renderer to main: the renderer holds the dropped file, so its bytes come in
 * chunks (base64, ≤ UPLOAD_CHUNK_BYTES each), written at their offset into a private staging file. One set
 * of rules for every upload (library files, case zips): chunks arrive in order (each offset is checked),
 * never past the announced size, and an upload idle for 10 minutes is dropped with its file.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { UPLOAD_CHUNK_BYTES } from '../../shared/workstation/ipc-contract.js';

export const UPLOAD_IDLE_MS = 10 * 60_000;

export interface StagingOptions {
  /** Private folder for the staging files (created 0700). */
  dir: string;
  /** Smallest and largest size an upload may announce. */
  minBytes: number;
  maxBytes: number;
  /** What is uploaded, for errors: "a case zip" → "a case zip is 1 to N bytes (x.zip announces M)". */
  what: string;
  /** What one upload is called in errors: "case import" → "no case import ID in progress". */
  label: string;
  /** Staging file name prefix. */
  prefix: string;
  idleMs?: number;
}

interface Upload<Meta> {
  id: string;
  name: string;
  meta: Meta;
  file: string;
  fd: number;
  size: number;
  received: number;
  idle: NodeJS.Timeout;
}

export interface FinishedUpload<Meta> {
  id: string;
  name: string;
  meta: Meta;
  /** The complete file: the caller's to use and remove. */
  file: string;
}

export class UploadStaging<Meta = undefined> {
  private readonly uploads = new Map<string, Upload<Meta>>();

  constructor(private readonly o: StagingOptions) {}

  begin(name: string, size: number, meta: Meta): string {
    if (!Number.isSafeInteger(size) || size < this.o.minBytes || size > this.o.maxBytes) {
      throw new Error(`${this.o.what} is ${this.o.minBytes} to ${this.o.maxBytes} bytes (${name} announces ${size})`);
    }
    mkdirSync(this.o.dir, { recursive: true, mode: 0o700 });
    const id = randomBytes(12).toString('hex');
    const file = path.join(this.o.dir, `${this.o.prefix}${id}.part`);
    const fd = openSync(file, 'wx', 0o600);
    const idle = setTimeout(() => this.abort(id), this.o.idleMs ?? UPLOAD_IDLE_MS);
    idle.unref();
    this.uploads.set(id, { id, name, meta, file, fd, size, received: 0, idle });
    return id;
  }

  chunk(id: string, offset: number, base64: string): number {
    const upload = this.get(id);
    if (offset !== upload.received)
      throw new Error(`${this.o.label} ${id}: expected byte ${upload.received}, got ${offset}`);
    const bytes = Buffer.from(base64, 'base64');
    if (bytes.length > UPLOAD_CHUNK_BYTES)
      throw new Error(`${this.o.label} ${id}: chunk larger than ${UPLOAD_CHUNK_BYTES} bytes`);
    if (upload.received + bytes.length > upload.size)
      throw new Error(`${this.o.label} ${id}: more bytes than announced (${upload.size})`);
    let done = 0;
    while (done < bytes.length) done += writeSync(upload.fd, bytes, done, bytes.length - done, offset + done);
    upload.received += bytes.length;
    upload.idle.refresh();
    return upload.received;
  }

  /** The complete file, now the caller's to use and remove. Throws (and removes it) when bytes are missing. */
  finish(id: string): FinishedUpload<Meta> {
    const upload = this.get(id);
    this.forget(upload);
    if (upload.received !== upload.size) {
      rmSync(upload.file, { force: true });
      throw new Error(`${this.o.label} ${id}: received ${upload.received} of ${upload.size} bytes`);
    }
    return { id, name: upload.name, meta: upload.meta, file: upload.file };
  }

  abort(id: string): boolean {
    const upload = this.uploads.get(id);
    if (!upload) return false;
    this.forget(upload);
    rmSync(upload.file, { force: true });
    return true;
  }

  abortAll(): void {
    for (const id of [...this.uploads.keys()]) this.abort(id);
  }

  private forget(upload: Upload<Meta>): void {
    this.uploads.delete(upload.id);
    clearTimeout(upload.idle);
    try {
      closeSync(upload.fd);
    } catch {
      // already closed
    }
  }

  private get(id: string): Upload<Meta> {
    const upload = this.uploads.get(id);
    if (!upload) throw new Error(`no ${this.o.label} ${id} in progress`);
    return upload;
  }
}
