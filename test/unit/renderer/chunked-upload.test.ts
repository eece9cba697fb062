/**
 * The renderer's one chunked upload (library files and case imports go through it): the calls it makes,
 * in order, and the abort that follows any failure. The steps are fakes recording the calls (the real
 * channels behind them are exercised by the library and cases e2e suites).
 */
import { describe, expect, it, vi } from 'vitest';
import { UPLOAD_CHUNK_BYTES } from '../../../src/shared/workstation/ipc-contract.js';
import { uploadInChunks, type ChunkedUploadSteps } from '../../../src/renderer/src/state/chunked-upload.js';

type Call = [step: string, ...args: unknown[]];

function recordingSteps(failOn?: 'chunk' | 'end'): { calls: Call[]; steps: ChunkedUploadSteps<string> } {
  const calls: Call[] = [];
  return {
    calls,
    steps: {
      begin: () => {
        calls.push(['begin']);
        return Promise.resolve('u1');
      },
      chunk: (id, offset, data) => {
        calls.push(['chunk', id, offset, data]);
        return failOn === 'chunk' ? Promise.reject(new Error('disk full')) : Promise.resolve();
      },
      end: (id) => {
        calls.push(['end', id]);
        return failOn === 'end' ? Promise.reject(new Error('manifest mismatch')) : Promise.resolve('stored');
      },
      abort: (id) => {
        calls.push(['abort', id]);
        return Promise.resolve();
      },
    },
  };
}

function fileOf(size: number): Blob {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = i % 251;
  return new Blob([bytes]);
}

describe('uploadInChunks', () => {
  it('sends begin, every chunk at its offset (base64 of exactly those bytes), then end; reports progress', async () => {
    const { calls, steps } = recordingSteps();
    const size = 2 * UPLOAD_CHUNK_BYTES + 10;
    const sent: number[] = [];
    const started: string[] = [];
    expect(
      await uploadInChunks(fileOf(size), steps, { started: (id) => started.push(id), sent: (n) => sent.push(n) }),
    ).toBe('stored');
    expect(calls.map((c) => c[0])).toEqual(['begin', 'chunk', 'chunk', 'chunk', 'end']);
    const chunks = calls.filter((c) => c[0] === 'chunk');
    expect(chunks.map((c) => c[2])).toEqual([0, UPLOAD_CHUNK_BYTES, 2 * UPLOAD_CHUNK_BYTES]);
    const joined = Buffer.concat(chunks.map((c) => Buffer.from(c[3] as string, 'base64')));
    expect(joined.equals(Buffer.from(await fileOf(size).arrayBuffer()))).toBe(true);
    expect(started).toEqual(['u1']);
    expect(sent).toEqual([UPLOAD_CHUNK_BYTES, 2 * UPLOAD_CHUNK_BYTES, size]);
  });

  it.each(['chunk', 'end'] as const)(
    'aborts the upload in main when %s fails, and passes that failure on',
    async (failOn) => {
      const { calls, steps } = recordingSteps(failOn);
      await expect(uploadInChunks(fileOf(UPLOAD_CHUNK_BYTES + 1), steps)).rejects.toThrow(
        failOn === 'chunk' ? 'disk full' : 'manifest mismatch',
      );
      await vi.waitFor(() => expect(calls.at(-1)).toEqual(['abort', 'u1']));
    },
  );

  it('does not abort an upload that main completed', async () => {
    const { calls, steps } = recordingSteps();
    await uploadInChunks(fileOf(5), steps);
    expect(calls.map((c) => c[0])).toEqual(['begin', 'chunk', 'end']);
  });
});
