/**
 * A chunked upload cancelled from the page: the renderer's one upload (uploadInChunks, as upload-actions.ts
 * calls it for a case import) talking to the validated dispatcher with the routes of src/main/ipc/routes.ts,
 * and a real case store staging the bytes on disk. Aborting the signal between chunks sends no further chunk,
 * aborts the staged upload in main (its `.part` file deleted) and fails with one line; no case is added.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createValidatedDispatcher } from '../../../src/main/ipc/validated.js';
import { CasesService } from '../../../src/main/services/cases.js';
import { createEventHub } from '../../../src/main/services/events.js';
import { uploadInChunks } from '../../../src/renderer/src/state/chunked-upload.js';
import { UPLOAD_CHUNK_BYTES, type IpcChannel, type IpcRequest } from '../../../src/shared/workstation/ipc-contract.js';

const trusted = { trusted: true };
const policy = { isTrusted: (sender: { trusted: boolean }) => sender.trusted };
let root: string;
let cases: CasesService;

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'lr-ipc-cancel-upload-'));
  cases = new CasesService({
    dir: path.join(root, 'cases'),
    exportsDir: path.join(root, 'exports'),
    events: createEventHub(),
  });
});

afterAll(() => {
  cases.close();
  rmSync(root, { recursive: true, force: true });
});

function dispatcher() {
  const d = createValidatedDispatcher(policy);
  // As in src/main/ipc/routes.ts.
  d.handle('lr:cases.importBegin', ({ name, size }) => ({ uploadId: cases.importBegin(name, size) }));
  d.handle('lr:cases.importChunk', ({ uploadId, offset, data }) => ({
    received: cases.importChunk(uploadId, offset, data),
  }));
  d.handle('lr:cases.importEnd', ({ uploadId }) => cases.importEnd(uploadId));
  d.handle('lr:cases.importAbort', ({ uploadId }) => ({ aborted: cases.importAbort(uploadId) }));
  return d;
}

/** As api/call.ts: the result, or the dispatcher's error thrown. */
async function callThrough<C extends IpcChannel>(
  d: ReturnType<typeof dispatcher>,
  channel: C,
  request: IpcRequest<C>,
): Promise<unknown> {
  const outcome = await d.dispatch(channel, request, trusted);
  if (!outcome.ok) throw new Error(outcome.error.message);
  return outcome.result;
}

function staged(): string[] {
  try {
    return readdirSync(path.join(root, 'cases', 'uploads'));
  } catch {
    return [];
  }
}

describe('a chunked upload cancelled between chunks', () => {
  it('sends no further chunk, aborts the staged upload in main and adds no case', async () => {
    const d = dispatcher();
    const file = new File([new Uint8Array(4 * UPLOAD_CHUNK_BYTES).fill(7)], 'case-big.zip');
    const controller = new AbortController();
    const calls: string[] = [];
    const caseCount = cases.list().length;
    const upload = uploadInChunks(
      file,
      {
        begin: async () => {
          calls.push('begin');
          return (
            (await callThrough(d, 'lr:cases.importBegin', { name: file.name, size: file.size })) as { uploadId: string }
          ).uploadId;
        },
        chunk: (uploadId, offset, data) => {
          calls.push('chunk');
          return callThrough(d, 'lr:cases.importChunk', { uploadId, offset, data });
        },
        end: (uploadId) => {
          calls.push('end');
          return callThrough(d, 'lr:cases.importEnd', { uploadId });
        },
        abort: (uploadId) => {
          calls.push('abort');
          return callThrough(d, 'lr:cases.importAbort', { uploadId });
        },
      },
      {
        // Cancel once the first chunk is in main's staging file.
        sent: () => {
          expect(staged()).toHaveLength(1);
          controller.abort();
        },
        signal: controller.signal,
      },
    );
    await expect(upload).rejects.toThrow('the upload of case-big.zip was cancelled; nothing was stored');
    await vi.waitFor(() => expect(calls).toEqual(['begin', 'chunk', 'abort']));
    await vi.waitFor(() => expect(staged()).toEqual([]));
    expect(cases.list()).toHaveLength(caseCount);
  });
});
