/**
 * How the evidence viewer renders a range of a file's bytes: text, hex dump or strings. Pure functions
 * over a byte array (main reads the range from disk, see src/main/cases/preview.ts). Every line is display
 * text: bytes from a device are untrusted, so control characters are made visible, never passed on.
 * Pure TypeScript: no Node, no DOM.
 */
import { escapeControlChars } from '../commands/format.js';

export const HEX_BYTES_PER_LINE = 16;
/** Shortest run of printable characters the strings view shows (as `strings` does by default). */
export const MIN_STRING_RUN = 4;
/** The range the analyst may pick for it. */
export const MIN_STRING_RUN_RANGE = [2, 64] as const;

export interface StringsOptions {
  /** Shortest run shown (default MIN_STRING_RUN). */
  minLength?: number | undefined;
  /** Only runs containing this text (ASCII case-insensitive). */
  filter?: string | undefined;
}

export interface RenderedRange {
  lines: string[];
  /** Bytes of the range the lines cover; the next page starts after them. */
  consumed: number;
}

function hex(value: number, digits: number): string {
  return value.toString(16).padStart(digits, '0');
}

const isPrintableAscii = (b: number): boolean => b >= 0x20 && b <= 0x7e;
/** Decodes bytes already known to be printable ASCII (identical in every single-byte encoding). */
const ASCII = new TextDecoder('latin1');

/**
 * Where an incomplete UTF-8 sequence at the end of `bytes` starts (bytes.length when the end is
 * complete): a page must not cut a character in two, or both pages would show U+FFFD.
 */
function completeUtf8Length(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let back = 1; back <= Math.min(3, n); back++) {
    const b = bytes[n - back] as number;
    if ((b & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead byte
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? n - back : n;
  }
  return n;
}

/**
 * UTF-8 text, one display line per line of the file. Unless `atEnd`, the range is cut after its last
 * newline (so pages break between lines) or, for a line longer than the range, at a character boundary.
 * Tabs are kept (harmless in the viewer); other control characters become `\xNN`.
 */
export function renderText(bytes: Uint8Array, atEnd: boolean): RenderedRange {
  let consumed = bytes.length;
  if (!atEnd) {
    const lastNewline = bytes.lastIndexOf(0x0a);
    consumed = lastNewline >= 0 ? lastNewline + 1 : completeUtf8Length(bytes);
    if (consumed === 0) consumed = bytes.length; // a lone broken sequence: show it rather than stall
  }
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, consumed));
  const raw = text.split('\n');
  if (raw.length > 1 && raw[raw.length - 1] === '') raw.pop();
  const lines = raw.map((line) =>
    line
      .replace(/\r$/, '')
      .split('\t')
      .map((part) => escapeControlChars(part))
      .join('\t'),
  );
  return { lines, consumed };
}

/** `hexdump -C` style: `00000010  48 65 6c 6c 6f 20 77 6f  72 6c 64 0a 00 00 00 00  |Hello world.....|`. */
export function renderHex(bytes: Uint8Array, offset: number): RenderedRange {
  const lines: string[] = [];
  const digits = Math.max(8, (offset + bytes.length).toString(16).length);
  for (let start = 0; start < bytes.length; start += HEX_BYTES_PER_LINE) {
    const row = bytes.subarray(start, start + HEX_BYTES_PER_LINE);
    let hexPart = '';
    let ascii = '';
    for (let i = 0; i < HEX_BYTES_PER_LINE; i++) {
      if (i === 8) hexPart += ' ';
      const b = row[i];
      if (b === undefined) {
        hexPart += '   ';
        continue;
      }
      hexPart += `${hex(b, 2)} `;
      ascii += isPrintableAscii(b) ? String.fromCharCode(b) : '.';
    }
    lines.push(`${hex(offset + start, digits)}  ${hexPart} |${ascii}|`);
  }
  return { lines, consumed: bytes.length };
}

interface StringRun {
  at: number;
  end: number;
  text: string;
  utf16: boolean;
}

/** Runs of printable ASCII (one byte per character). */
function asciiRuns(bytes: Uint8Array, minLength: number): StringRun[] {
  const runs: StringRun[] = [];
  let i = 0;
  while (i < bytes.length) {
    if (!isPrintableAscii(bytes[i] as number)) {
      i++;
      continue;
    }
    let j = i;
    while (j < bytes.length && isPrintableAscii(bytes[j] as number)) j++;
    if (j - i >= minLength) runs.push({ at: i, end: j, text: ASCII.decode(bytes.subarray(i, j)), utf16: false });
    i = j;
  }
  return runs;
}

/** Runs of printable ASCII encoded as UTF-16LE (`a\0b\0c\0d\0`), the usual Windows strings. */
function utf16Runs(bytes: Uint8Array, minLength: number): StringRun[] {
  const runs: StringRun[] = [];
  let i = 0;
  while (i + 1 < bytes.length) {
    if (!(isPrintableAscii(bytes[i] as number) && bytes[i + 1] === 0)) {
      i++;
      continue;
    }
    let j = i;
    let text = '';
    while (j + 1 < bytes.length && isPrintableAscii(bytes[j] as number) && bytes[j + 1] === 0) {
      text += String.fromCharCode(bytes[j] as number);
      j += 2;
    }
    if (text.length >= minLength) runs.push({ at: i, end: j, text, utf16: true });
    i = j > i ? j : i + 1;
  }
  return runs;
}

/** Where the printable ASCII run that ends the range starts (bytes.length: the range ends otherwise). */
function asciiTail(bytes: Uint8Array): number {
  let tail = bytes.length;
  while (tail > 0 && isPrintableAscii(bytes[tail - 1] as number)) tail--;
  return tail;
}

/**
 * Where the UTF-16LE run that ends the range starts: (printable, 0) pairs back from the end, after a last
 * printable byte whose 0 may be the next range's first byte. Zero bytes alone are not a run (a range
 * ending in padding defers nothing).
 */
function utf16Tail(bytes: Uint8Array): number {
  let tail = bytes.length;
  if (tail > 0 && isPrintableAscii(bytes[tail - 1] as number)) tail--;
  while (tail >= 2 && bytes[tail - 1] === 0 && isPrintableAscii(bytes[tail - 2] as number)) tail -= 2;
  return tail === bytes.length - 1 ? bytes.length : tail;
}

const foldAscii = (text: string): string => text.replace(/[A-Z]/g, (c) => c.toLowerCase());

/**
 * Printable runs of at least `minLength` (default MIN_STRING_RUN) characters, ASCII and UTF-16LE, in file
 * order, each as `OFFSET  text` (UTF-16LE ones tagged), only those containing `filter` when one is given.
 * A run reaching the end of a range that is not the end of the file is left for the next page (which then
 * starts at the run), unless it began the range: then it is shown cut, so paging always moves on.
 */
export function renderStrings(
  bytes: Uint8Array,
  offset: number,
  atEnd: boolean,
  options: StringsOptions = {},
): RenderedRange {
  const [low, high] = MIN_STRING_RUN_RANGE;
  const minLength = Math.min(high, Math.max(low, Math.floor(options.minLength ?? MIN_STRING_RUN)));
  const filter = options.filter ? foldAscii(options.filter) : '';
  const runs = [...asciiRuns(bytes, minLength), ...utf16Runs(bytes, minLength)].sort((a, b) => a.at - b.at);
  let consumed = bytes.length;
  if (!atEnd) {
    // A run touching the end of the range may continue in the next range: defer it whole.
    const tail = Math.min(asciiTail(bytes), utf16Tail(bytes));
    if (tail > 0 && tail < bytes.length) consumed = tail;
  }
  const digits = Math.max(8, (offset + bytes.length).toString(16).length);
  const lines: string[] = [];
  for (const run of runs) {
    if (run.at >= consumed) break;
    if (filter && !foldAscii(run.text).includes(filter)) continue;
    lines.push(`${hex(offset + run.at, digits)}  ${run.utf16 ? '(UTF-16LE) ' : ''}${run.text}`);
  }
  return { lines, consumed };
}
