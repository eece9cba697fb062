/**
 * The evidence viewer's previews: one range of a stored file, read at its offset (a 3 GB file previews
 * as fast as a small one: nothing before the offset is read), rendered as text, hex or strings by
 * src/shared/workstation/evidence-preview.ts; strings scan the whole file a bounded step at a time. The file is opened
 * read-only and only read.
 */
import { open } from 'node:fs/promises';
import { MAX_PREVIEW_BYTES, type EvidencePreview, type PreviewMode } from '../../shared/workstation/case-types.js';
import {
  renderHex,
  renderStrings,
  renderText,
  type RenderedRange,
  type StringsOptions,
} from '../../shared/workstation/evidence-preview.js';

export async function previewFile(
  file: string,
  mode: PreviewMode,
  offset: number,
  length: number,
): Promise<EvidencePreview> {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new Error(`invalid preview offset ${offset}`);
  if (!Number.isSafeInteger(length) || length <= 0 || length > MAX_PREVIEW_BYTES)
    throw new Error(`a preview reads 1 to ${MAX_PREVIEW_BYTES} bytes`);
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
      mode === 'hex'
        ? renderHex(range, start)
        : mode === 'strings'
          ? renderStrings(range, start, atEnd)
          : renderText(range, atEnd);
    const next = start + rendered.consumed;
    return {
      mode,
      offset: start,
      length: rendered.consumed,
      size,
      lines: rendered.lines,
      nextOffset: next < size ? next : undefined,
    };
  } finally {
    await handle.close();
  }
}

/** A strings scan reads the file in chunks of this size… */
const SCAN_CHUNK_BYTES = 1024 * 1024;
/** …and stops after this many bytes or lines, whichever comes first: the next call goes on from there. */
export const SCAN_MAX_BYTES = 64 * 1024 * 1024;
export const SCAN_MAX_LINES = 2000;

/**
 * Strings of the whole file, a bounded step at a time: from `offset`, chunk after chunk (a run cut by a
 * chunk's end is read again whole with the next chunk), until SCAN_MAX_LINES matching strings or
 * SCAN_MAX_BYTES read or the end of the file. Memory stays at one chunk; `nextOffset` continues the scan.
 */
export async function scanStrings(
  file: string,
  offset: number,
  options: StringsOptions & { maxBytes?: number; maxLines?: number } = {},
): Promise<EvidencePreview> {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new Error(`invalid preview offset ${offset}`);
  const maxBytes = options.maxBytes ?? SCAN_MAX_BYTES;
  const maxLines = options.maxLines ?? SCAN_MAX_LINES;
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const start = Math.min(offset, size);
    const buffer = Buffer.alloc(SCAN_CHUNK_BYTES);
    const lines: string[] = [];
    let at = start;
    while (at < size && at - start < maxBytes && lines.length < maxLines) {
      const want = Math.min(SCAN_CHUNK_BYTES, size - at);
      let got = 0;
      while (got < want) {
        const { bytesRead } = await handle.read(buffer, got, want - got, at + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      if (got === 0) break; // the file shrank under us
      const rendered = renderStrings(buffer.subarray(0, got), at, at + got >= size, options);
      const room = maxLines - lines.length;
      if (rendered.lines.length > room) {
        // Stop at the first string left out: the next call starts there (its offset leads its line).
        lines.push(...rendered.lines.slice(0, room).map(capLine));
        at = Number.parseInt((rendered.lines[room] as string).split(' ', 1)[0] as string, 16);
        break;
      }
      lines.push(...rendered.lines.map(capLine));
      at += rendered.consumed;
    }
    return { mode: 'strings', offset: start, length: at - start, size, lines, nextOffset: at < size ? at : undefined };
  } finally {
    await handle.close();
  }
}

/** A string longer than this is shown cut (a 1 MiB run of printable bytes is not read as one line). */
const MAX_STRING_LINE_CHARS = 512;

function capLine(line: string): string {
  return line.length <= MAX_STRING_LINE_CHARS
    ? line
    : `${line.slice(0, MAX_STRING_LINE_CHARS)}… (${line.length - MAX_STRING_LINE_CHARS} more characters)`;
}
