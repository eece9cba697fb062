/**
 * The evidence viewer's previews: one range of a stored file, read at its offset (a 3 GB file previews
 * as fast as a small one: nothing before the offset is read), rendered as text, hex or strings by
 * src/shared/evidence-preview.ts. The file is opened read-only and only read.
 */
import { open } from 'node:fs/promises';
import { MAX_PREVIEW_BYTES, type EvidencePreview, type PreviewMode } from '../../shared/case-types.js';
import { renderHex, renderStrings, renderText, type RenderedRange } from '../../shared/evidence-preview.js';

export async function previewFile(file: string, mode: PreviewMode, offset: number, length: number): Promise<EvidencePreview> {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new Error(`invalid preview offset ${offset}`);
  if (!Number.isSafeInteger(length) || length <= 0 || length > MAX_PREVIEW_BYTES) throw new Error(`a preview reads 1 to ${MAX_PREVIEW_BYTES} bytes`);
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const start = Math.min(offset, size);
    const want = Math.min(length, size - start);
    const bytes = Buffer.alloc(want);
    let got = 0;
    while (got < want) {
      const { bytesRead } = await handle.read(bytes, got, want - got, start + got);
      if (bytesRead === 0) break; // the file shrank under us: show what was there
      got += bytesRead;
    }
    const range = bytes.subarray(0, got);
    const atEnd = start + got >= size;
    const rendered: RenderedRange =
      mode === 'hex' ? renderHex(range, start) : mode === 'strings' ? renderStrings(range, start, atEnd) : renderText(range, atEnd);
    const next = start + rendered.consumed;
    return { mode, offset: start, length: rendered.consumed, size, lines: rendered.lines, nextOffset: next < size ? next : undefined };
  } finally {
    await handle.close();
  }
}
