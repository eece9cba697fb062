/**
 * The one way a file goes from the page to main: a begin call, the bytes in chunks of UPLOAD_CHUNK_BYTES
 * (base64 in the frame), an end call; on any failure the upload is aborted in main (its staging file
 * removed) and the error goes on to the caller. Library uploads and case imports both use it, through the
 * actions in upload-actions.ts, so that pages never call these channels themselves.
 *
 * A Cancel (the hooks' `signal`) is seen between chunks: no further chunk is sent, the staged upload is
 * aborted in main like after a failure, and the upload fails with "… was cancelled; nothing was stored".
 */
import { UPLOAD_CHUNK_BYTES } from '../../../shared/workstation/ipc-contract.js';

export interface ChunkedUploadSteps<R> {
  begin(): Promise<string>;
  chunk(uploadId: string, offset: number, data: string): Promise<unknown>;
  end(uploadId: string): Promise<R>;
  abort(uploadId: string): Promise<unknown>;
}

export interface UploadHooks {
  /** Main gave the upload its id (progress events name it). */
  started?(uploadId: string): void;
  /** Bytes of the file sent to main so far. */
  sent?(bytes: number): void;
  /** Aborting it cancels the upload (see the file's comment). */
  signal?: AbortSignal | undefined;
}

export async function uploadInChunks<R>(file: Blob, steps: ChunkedUploadSteps<R>, hooks: UploadHooks = {}): Promise<R> {
  let uploadId: string | undefined;
  const stopIfCancelled = (): void => {
    if (hooks.signal?.aborted) throw new Error(`the upload of ${describeFile(file)} was cancelled; nothing was stored`);
  };
  try {
    stopIfCancelled();
    uploadId = await steps.begin();
    hooks.started?.(uploadId);
    for (let offset = 0; offset < file.size; offset += UPLOAD_CHUNK_BYTES) {
      stopIfCancelled();
      const bytes = new Uint8Array(await file.slice(offset, offset + UPLOAD_CHUNK_BYTES).arrayBuffer());
      await steps.chunk(uploadId, offset, toBase64(bytes));
      hooks.sent?.(Math.min(file.size, offset + bytes.length));
    }
    stopIfCancelled();
    const result = await steps.end(uploadId);
    uploadId = undefined;
    return result;
  } catch (e) {
    // Best effort: main also drops stale staging files; the caller reports the first failure, not this one.
    if (uploadId !== undefined) void steps.abort(uploadId).catch(() => undefined);
    throw e;
  }
}

/** A dropped File has a name; a plain Blob (tests) is described by its size. */
function describeFile(file: Blob): string {
  return 'name' in file && typeof file.name === 'string' && file.name ? file.name : `${file.size} bytes`;
}

export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
