/**
 * The library page's side in main: list, delete, and uploads. The renderer holds the dropped files, so
 * their bytes come to main in chunks (lr:library.uploadChunk, base64, ≤ 512 KiB each) and are written to
 * the app data folder's uploads/ (UploadStaging, the same rules as case imports); at the end main streams the file to
 * the service (PUT /api/v1/library/NAME
 * through LibraryApi) with progress events, and removes it.
 */
import { rmSync } from 'node:fs';
import { roleAllows } from '../../shared/commands/catalog.js';
import { MAX_LIBRARY_UPLOAD_BYTES, type LibraryView } from '../../shared/workstation/ipc-contract.js';
import { libraryNameProblem } from '../../shared/commands/library-rules.js';
import type { UploadResult } from '../../shared/wire/library-records.js';
import type { EventHub } from './events.js';
import { UploadStaging } from './upload-staging.js';
import type { Workspace } from './workspace.js';

interface UploadMeta {
  description: string;
  parametersDescription: string;
  parametersExample: string;
  overwrite: boolean;
  /** The connection the upload started on: a switch of service meanwhile cancels it. */
  generation: number;
}

export class LibraryPageService {
  private uploads: UploadStaging<UploadMeta> | undefined;

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

  /**
   * Starts an upload. A name already in the library is refused here, before any byte is sent, unless the
   * analyst chose to replace it (`overwrite`); the service checks again when the upload ends (a race).
   */
  async begin(meta: Omit<UploadMeta, 'generation'> & { name: string; size: number }): Promise<string> {
    const connection = this.workspace.current();
    if (!connection.me.libraryManager)
      throw new Error(
        `refused: uploading to the library needs the library-manager permission (${connection.me.name} does not have it)`,
      );
    const problem = libraryNameProblem(meta.name);
    if (problem) throw new Error(`invalid library file name ${JSON.stringify(meta.name.slice(0, 100))}: ${problem}`);
    const { name, size, description, parametersDescription, parametersExample, overwrite } = meta;
    if (!overwrite && (await connection.library.list()).some((f) => f.name === name)) {
      throw new Error(`${name} is already in the library: replace it, or upload it under another name`);
    }
    if (this.workspace.current().generation !== connection.generation)
      throw new Error('the workstation connected to another service meanwhile');
    return this.staging().begin(name, size, {
      description,
      parametersDescription,
      parametersExample,
      overwrite,
      generation: connection.generation,
    });
  }

  chunk(id: string, offset: number, base64: string): number {
    return this.staging().chunk(id, offset, base64);
  }

  async end(id: string): Promise<UploadResult> {
    const upload = this.staging().finish(id);
    try {
      const connection = this.workspace.current();
      if (connection.generation !== upload.meta.generation)
        throw new Error('the workstation connected to another service during the upload');
      const { description, parametersDescription, parametersExample, overwrite } = upload.meta;
      let lastEvent = 0;
      return await connection.library.upload(upload.file, {
        name: upload.name,
        description,
        parametersDescription,
        parametersExample,
        overwrite,
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
    return this.uploads?.abort(id) ?? false;
  }

  /** Staging in the app data folder's uploads/ (made on first use: IPC unit tests have no folder). */
  private staging(): UploadStaging<UploadMeta> {
    if (this.uploads) return this.uploads;
    const paths = this.workspace.paths;
    if (!paths) throw new Error('no app data folder');
    this.uploads = new UploadStaging<UploadMeta>({
      dir: paths.uploads,
      minBytes: 0,
      maxBytes: MAX_LIBRARY_UPLOAD_BYTES,
      what: 'a library file',
      label: 'upload',
      prefix: '',
    });
    return this.uploads;
  }
}
