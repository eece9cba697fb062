/** Uploads the pages start: a library file, a case zip. Both go through the one chunked upload. */
import type { IpcRequest, IpcResponse } from '../../../shared/workstation/ipc-contract.js';
import { call } from '../api/call.js';
import { uploadInChunks, type UploadHooks } from './chunked-upload.js';

export type LibraryUploadMeta = Omit<IpcRequest<'lr:library.uploadBegin'>, 'size'>;

/** A file into the service's script library (main stages it, then sends it on). */
export function uploadLibraryFile(
  file: Blob,
  meta: LibraryUploadMeta,
  hooks?: UploadHooks,
): Promise<IpcResponse<'lr:library.uploadEnd'>> {
  return uploadInChunks(
    file,
    {
      begin: async () => (await call('lr:library.uploadBegin', { ...meta, size: file.size })).uploadId,
      chunk: (uploadId, offset, data) => call('lr:library.uploadChunk', { uploadId, offset, data }),
      end: (uploadId) => call('lr:library.uploadEnd', { uploadId }),
      abort: (uploadId) => call('lr:library.uploadAbort', { uploadId }),
    },
    hooks,
  );
}

/** A case zip into this workstation's cases (main verifies every member before adding anything). */
export function importCaseZip(
  file: Blob,
  name: string,
  hooks?: UploadHooks,
): Promise<IpcResponse<'lr:cases.importEnd'>> {
  return uploadInChunks(
    file,
    {
      begin: async () => (await call('lr:cases.importBegin', { name: name.slice(0, 255), size: file.size })).uploadId,
      chunk: (uploadId, offset, data) => call('lr:cases.importChunk', { uploadId, offset, data }),
      end: (uploadId) => call('lr:cases.importEnd', { uploadId }),
      abort: (uploadId) => call('lr:cases.importAbort', { uploadId }),
    },
    hooks,
  );
}
