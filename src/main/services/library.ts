/**
 * The library page's side in main: list, delete, and uploads. The renderer holds the dropped files, so
 * their bytes come to main in chunks (lr:library.uploadChunk, base64, ≤ 512 KiB each) and are written to
 * the app data folder's uploads/; at the end main streams the file to the service (PUT /api/v1/library/NAME
 * through LibraryApi) with progress events, and removes it.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { roleAllows } from '../../shared/catalog.js';
import { UPLOAD_CHUNK_BYTES, type LibraryView } from '../../shared/ipc-contract.js';
import { libraryNameProblem } from '../../shared/library-rules.js';
import type { UploadResult } from '../../shared/library-records.js';
import type { EventHub } from './events.js';
import type { Workspace } from './workspace.js';

const UPLOAD_IDLE_MS = 10 * 60_000;

interface Upload {
  id: string;
  file: string;
  fd: number;
  size: number;
  received: number;
  meta: { name: string; description: string; parametersDescription: string; parametersExample: string; overwrite: boolean };
  generation: number;
  idle: NodeJS.Timeout;
}

export class LibraryService {
  private readonly uploads = new Map<string, Upload>();

  constructor(
    private readonly workspace: Workspace,
    private readonly events: EventHub,
  ) {}

  async list(): Promise<LibraryView> {
    const connection = this.workspace.current();
    const canManage = connection.me.libraryManager;
    if (!roleAllows(connection.me.role, 'advanced')) {
      return { canManage: false, reason: `the library needs the advanced role (you are ${connection.me.role})` };
    }
    return { files: await connection.library.list(), canManage };
  }

  async delete(name: string): Promise<void> {
    await this.workspace.current().library.delete(name);
  }

  begin(meta: Upload['meta'] & { size: number }): string {
    const connection = this.workspace.current();
    if (!connection.me.libraryManager) throw new Error(`refused: uploading to the library needs the library-manager permission (${connection.me.name} does not have it)`);
    const problem = libraryNameProblem(meta.name);
    if (problem) throw new Error(`invalid library file name ${JSON.stringify(meta.name.slice(0, 100))}: ${problem}`);
    const paths = this.workspace.paths;
    if (!paths) throw new Error('no app data folder');
    const id = randomBytes(12).toString('hex');
    const file = path.join(paths.uploads, `${id}.part`);
    const fd = openSync(file, 'wx', 0o600);
    const upload: Upload = {
      id,
      file,
      fd,
      size: meta.size,
      received: 0,
      meta: { name: meta.name, description: meta.description, parametersDescription: meta.parametersDescription, parametersExample: meta.parametersExample, overwrite: meta.overwrite },
      generation: connection.generation,
      idle: setTimeout(() => this.abort(id), UPLOAD_IDLE_MS),
    };
    upload.idle.unref();
    this.uploads.set(id, upload);
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

  async end(id: string): Promise<UploadResult> {
    const upload = this.get(id);
    this.uploads.delete(id);
    clearTimeout(upload.idle);
    closeSync(upload.fd);
    try {
      if (upload.received !== upload.size) throw new Error(`upload ${id}: received ${upload.received} of ${upload.size} bytes`);
      const connection = this.workspace.current();
      if (connection.generation !== upload.generation) throw new Error('the workstation connected to another service during the upload');
      let lastEvent = 0;
      return await connection.library.upload(upload.file, {
        ...upload.meta,
        onProgress: (sent, total) => {
          const now = Date.now();
          if (now - lastEvent < 100 && sent < total) return;
          lastEvent = now;
          this.events.publish({ type: 'library.progress', uploadId: id, sent, total });
        },
      });
    } finally {
      rmSync(upload.file, { force: true });
    }
  }

  abort(id: string): boolean {
    const upload = this.uploads.get(id);
    if (!upload) return false;
    this.uploads.delete(id);
    clearTimeout(upload.idle);
    try {
      closeSync(upload.fd);
    } catch {
      // already closed
    }
    rmSync(upload.file, { force: true });
    return true;
  }

  private get(id: string): Upload {
    const upload = this.uploads.get(id);
    if (!upload) throw new Error(`no upload ${id} in progress`);
    return upload;
  }
}
