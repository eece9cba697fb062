/**
 * Case zips on their way from the renderer: the renderer holds the dropped file, so its bytes come to
 * main in chunks (base64, ≤ UPLOAD_CHUNK_BYTES each), written at their offset into a staging file. Same
 * rules as the library's uploads (services/library.ts): chunks arrive in order (each offset is checked),
 * never past the announced size, and an upload idle for 10 minutes is dropped with its file.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { UPLOAD_CHUNK_BYTES } from '../../shared/ipc-contract.js';

export const UPLOAD_IDLE_MS = 10 * 60_000;

interface Upload {
  id: string;
  name: string;
  file: string;
  fd: number;
  size: number;
  received: number;
  idle: NodeJS.Timeout;
}

export interface FinishedUpload {
  id: string;
  name: string;
  file: string;
}

export class UploadStaging {
  private readonly uploads = new Map<string, Upload>();

  constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
    private readonly idleMs = UPLOAD_IDLE_MS,
  ) {}

  begin(name: string, size: number): string {
    if (!Number.isSafeInteger(size) || size <= 0 || size > this.maxBytes) throw new Error(`a case zip is 1 to ${this.maxBytes} bytes (${name} announces ${size})`);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const id = randomBytes(12).toString('hex');
    const file = path.join(this.dir, `import-${id}.zip.part`);
    const fd = openSync(file, 'wx', 0o600);
    const idle = setTimeout(() => this.abort(id), this.idleMs);
    idle.unref();
    this.uploads.set(id, { id, name, file, fd, size, received: 0, idle });
    return id;
  }

  chunk(id: string, offset: number, base64: string): number {
    const upload = this.get(id);
    if (offset !== upload.received) throw new Error(`upload ${id}: expected byte ${upload.received}, got ${offset}`);
    const bytes = Buffer.from(base64, 'base64');
    if (bytes.length > UPLOAD_CHUNK_BYTES) throw new Error(`upload ${id}: chunk larger than ${UPLOAD_CHUNK_BYTES} bytes`);
    if (upload.received + bytes.length > upload.size) throw new Error(`upload ${id}: more bytes than announced (${upload.size})`);
    let done = 0;
    while (done < bytes.length) done += writeSync(upload.fd, bytes, done, bytes.length - done, offset + done);
    upload.received += bytes.length;
    upload.idle.refresh();
    return upload.received;
  }

  /** The complete file, now the caller's to use and remove. Throws (and removes it) when bytes are missing. */
  finish(id: string): FinishedUpload {
    const upload = this.get(id);
    this.forget(upload);
    if (upload.received !== upload.size) {
      rmSync(upload.file, { force: true });
      throw new Error(`upload ${id}: received ${upload.received} of ${upload.size} bytes`);
    }
    return { id, name: upload.name, file: upload.file };
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

  private forget(upload: Upload): void {
    this.uploads.delete(upload.id);
    clearTimeout(upload.idle);
    try {
      closeSync(upload.fd);
    } catch {
      // already closed
    }
  }

  private get(id: string): Upload {
    const upload = this.uploads.get(id);
    if (!upload) throw new Error(`no case import ${id} in progress`);
    return upload;
  }
}
