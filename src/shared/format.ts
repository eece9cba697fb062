/**
 * Rendering of structured command records for terminals (the console's xterm, the `lr` CLI, `> file`
 * redirects). Pure TypeScript: it also runs in the browser renderer.
 *
 * Every value that came from a device is untrusted: a file name or a command line can hold escape
 * sequences meant to drive the analyst's terminal. All renderers here pass values through
 * `escapeControlChars` (table) or `escapeJsonControlChars` (JSON) so that no control character reaches
 * the terminal as such.
 */

import { formatInstant, isIsoInstant } from './time-format.js';

/**
 * Characters never written raw to a terminal: C0 controls, DEL, C1 controls (0x9b is a one-byte CSI for
 * terminals that honour 8-bit controls), the line/paragraph separators, and the Unicode bidi controls
 * (they can make `exe.txt` read as `txt.exe`: "Trojan Source").
 */
const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const HAS_UNSAFE_CHAR = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

function hex(code: number, digits: number): string {
  return code.toString(16).padStart(digits, '0');
}

/**
 * Replaces terminal-unsafe characters with visible escapes: `\x1b` for C0/DEL/C1, `\u202e` for the
 * others. Backslashes are left alone on purpose (Windows paths stay readable), so a file literally named
 * `\x1b` looks like an escaped ESC: ambiguous to read, but harmless to display.
 */
export function escapeControlChars(text: string): string {
  if (!HAS_UNSAFE_CHAR.test(text)) return text;
  return text.replace(UNSAFE_CHARS, (ch) => {
    const code = ch.charCodeAt(0);
    return code <= 0xff ? `\\x${hex(code, 2)}` : `\\u${hex(code, 4)}`;
  });
}

/**
 * What `JSON.stringify` leaves raw inside strings although a terminal may act on it: it escapes C0 controls
 * itself (so the raw newlines left are the pretty-printing's own), but not DEL, C1 or the Unicode ones.
 */
const JSON_UNSAFE_CHARS = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Escapes those the JSON way (`\u009b`), which keeps the output valid JSON. */
function escapeJsonControlChars(json: string): string {
  return json.replace(JSON_UNSAFE_CHARS, (ch) => `\\u${hex(ch.charCodeAt(0), 4)}`);
}

// --- display width -----------------------------------------------------------------------------------

const PRINTABLE_ASCII = /^[\u0020-\u007e]*$/;
const ZERO_WIDTH = /^[\p{Mn}\p{Me}\u200b-\u200f\ufeff]$/u;

/** East Asian Wide/Fullwidth ranges (main blocks only: cheap, and right for CJK text and common emoji). */
const WIDE_RANGES: readonly (readonly [number, number])[] = [
  [0x1100, 0x115f], [0x2e80, 0x303e], [0x3041, 0x33ff], [0x3400, 0x4dbf], [0x4e00, 0x9fff],
  [0xa000, 0xa4cf], [0xac00, 0xd7a3], [0xf900, 0xfaff], [0xfe30, 0xfe4f], [0xff00, 0xff60],
  [0xffe0, 0xffe6], [0x1f300, 0x1f64f], [0x1f680, 0x1f6ff], [0x1f900, 0x1f9ff], [0x20000, 0x3fffd],
];

function codePointWidth(codePoint: number, char: string): number {
  if (codePoint < 0x300) return 1;
  if (ZERO_WIDTH.test(char)) return 0;
  for (const [from, to] of WIDE_RANGES) {
    if (codePoint >= from && codePoint <= to) return 2;
  }
  return 1;
}

/** Number of terminal cells `text` occupies (wide CJK characters count 2, combining marks 0). */
export function displayWidth(text: string): number {
  if (PRINTABLE_ASCII.test(text)) return text.length;
  let width = 0;
  for (const char of text) width += codePointWidth(char.codePointAt(0) ?? 0, char);
  return width;
}

/** Cuts `text` to at most `width` cells, ending with `…` when something was cut. */
export function truncateToWidth(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  if (width <= 0) return '';
  let out = '';
  let used = 0;
  for (const char of text) {
    const w = codePointWidth(char.codePointAt(0) ?? 0, char);
    if (used + w > width - 1) break;
    out += char;
    used += w;
  }
  return `${out}…`;
}

function padEnd(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)));
}

function padStart(text: string, width: number): string {
  return ' '.repeat(Math.max(0, width - displayWidth(text))) + text;
}

// --- cell values -------------------------------------------------------------------------------------

const ISO_DATE_TIME = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?$/;

/** How a table shows an ISO instant (a date-time with its zone): by default in UTC, with the zone. */
export type TimeCellFormatter = (iso: string) => string;

/**
 * `2024-05-01T10:20:30.123Z` → `2024-05-01 10:20:30 UTC`: the CLI and a redirect file always show UTC with
 * its zone; the console passes the analyst's zone (see time-format.ts). A date-time without a zone says
 * nothing about its instant: it is only shortened (`2024-05-01 10:20:30`).
 */
const utcTimeCell: TimeCellFormatter = (iso) => formatInstant(iso, 'UTC');

function formatTimeText(text: string, formatTime: TimeCellFormatter): string {
  if (isIsoInstant(text)) return formatTime(text);
  const match = ISO_DATE_TIME.exec(text);
  return match ? `${match[1]} ${match[2]}` : text;
}

/** One table cell: a single line of safe text. */
export function formatCell(value: unknown, formatTime: TimeCellFormatter = utcTimeCell): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return escapeControlChars(formatTimeText(value, formatTime));
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? '' : formatTime(value.toISOString());
  if (Array.isArray(value)) return value.map((item) => formatCell(item, formatTime)).join(', ');
  return escapeControlChars(JSON.stringify(value, bigintReplacer) ?? '');
}

function isNumeric(value: unknown): boolean {
  return typeof value === 'number' || typeof value === 'bigint';
}

// --- table -------------------------------------------------------------------------------------------

export interface TableOptions {
  /** Terminal width: wide columns are cut (with `…`) so that a row fits, down to `MIN_COLUMN_WIDTH` each. */
  maxWidth?: number;
  /** How times show (default: UTC with its zone). */
  formatTime?: TimeCellFormatter;
}

const COLUMN_GAP = '  ';
const MIN_COLUMN_WIDTH = 4;

function valueOf(record: object, column: string): unknown {
  return (record as Record<string, unknown>)[column];
}

function columnsOf(records: readonly object[]): string[] {
  const seen = new Set<string>();
  for (const record of records) for (const key of Object.keys(record)) seen.add(key);
  return [...seen];
}

/**
 * Column widths that fit `maxWidth`: every column wider than a common cap `C` is cut to `C`, with the
 * largest `C` that fits (the narrow columns, usually ids and sizes, keep their full width).
 */
function fitWidths(natural: readonly number[], maxWidth: number | undefined): number[] {
  const gaps = COLUMN_GAP.length * Math.max(0, natural.length - 1);
  const total = (cap: number): number => natural.reduce((sum, w) => sum + Math.min(w, Math.max(cap, MIN_COLUMN_WIDTH)), gaps);
  const widest = Math.max(0, ...natural);
  if (maxWidth === undefined || !Number.isFinite(maxWidth) || total(widest) <= maxWidth) return [...natural];
  let low = MIN_COLUMN_WIDTH;
  let high = widest;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (total(mid) <= maxWidth) low = mid;
    else high = mid - 1;
  }
  return natural.map((w) => Math.min(w, low));
}

/**
 * A text table: header, a dashed rule, one line per record. Numeric columns are right-aligned; lines have
 * no trailing spaces and are joined with `\n` (no final newline). No records → empty string.
 */
export function renderTable(records: readonly object[], columns?: readonly string[], opts: TableOptions = {}): string {
  if (records.length === 0) return '';
  const cols = columns ?? columnsOf(records);
  if (cols.length === 0) return '';
  const headers = cols.map(escapeControlChars);
  const cells = records.map((record) => cols.map((col) => formatCell(valueOf(record, col), opts.formatTime)));
  const rightAligned = cols.map((col) => {
    const values = records.map((record) => valueOf(record, col)).filter((v) => v !== null && v !== undefined);
    return values.length > 0 && values.every(isNumeric);
  });
  // A loop, not Math.max(...cells): a spread of 100 000+ rows overflows the call stack.
  const natural = cols.map((_, i) => {
    let widest = displayWidth(headers[i] ?? '');
    for (const row of cells) widest = Math.max(widest, displayWidth(row[i] ?? ''));
    return widest;
  });
  const widths = fitWidths(natural, opts.maxWidth);

  const line = (row: readonly string[]): string =>
    row
      .map((cell, i) => {
        const width = widths[i] ?? 0;
        const text = truncateToWidth(cell, width);
        return rightAligned[i] ? padStart(text, width) : padEnd(text, width);
      })
      .join(COLUMN_GAP)
      .trimEnd();

  const rule = widths.map((w) => '-'.repeat(w)).join(COLUMN_GAP);
  const lines = [line(headers), rule];
  for (const row of cells) lines.push(line(row));
  return lines.join('\n');
}

// --- JSON --------------------------------------------------------------------------------------------

function bigintReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/** Pretty JSON array of the records (all fields), safe to write to a terminal; no final newline. */
export function renderJson(records: readonly object[]): string {
  return escapeJsonControlChars(JSON.stringify(records, bigintReplacer, 2));
}

// --- sizes, durations, progress ----------------------------------------------------------------------

const BYTE_UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'] as const;

/** `512 B`, `1.5 KiB`, `3.0 GiB` (binary units, one decimal). */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '?';
  if (n < 0) return `-${formatBytes(-n)}`;
  if (n < 1024) return `${Math.round(n)} B`;
  let value = n;
  let unit = -1;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  // 1023.96 KiB would print as "1024.0 KiB": show it as the next unit instead.
  if (Number(value.toFixed(1)) >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${BYTE_UNITS[unit] ?? 'EiB'}`;
}

/** `850 ms`, `12.3 s`, `4m 05s`, `2h 03m`, `3d 04h`. Negative durations show as 0. */
export function formatDuration(ms: number): string {
  if (Number.isNaN(ms)) return '?';
  if (ms === Infinity) return '∞';
  const safe = Math.max(0, ms);
  if (safe < 999.5) return `${Math.round(safe)} ms`;
  const tenths = Math.round(safe / 100);
  if (tenths < 600) return `${(tenths / 10).toFixed(1)} s`;
  const seconds = Math.round(safe / 1000);
  const two = (n: number): string => String(n).padStart(2, '0');
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${two(seconds % 60)}s`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ${two(Math.floor((seconds % 3600) / 60))}m`;
  return `${Math.floor(seconds / 86_400)}d ${two(Math.floor((seconds % 86_400) / 3600))}h`;
}

export interface ProgressState {
  bytes: number;
  /** Unknown or 0: no bar and no percentage. */
  total?: number;
  rateBytesPerSec?: number;
  etaSec?: number;
}

const MIN_BAR_WIDTH = 10;

/**
 * One progress line of at most `width` cells, without control characters (the caller redraws it with
 * `\r` or its own cursor moves): `[#####.....]  45%  1.4 GiB / 3.0 GiB  52.1 MiB/s  ETA 31.0 s`.
 * The least useful parts (ETA, then rate) are dropped first when the line does not fit.
 */
export function renderProgress(state: ProgressState, width: number): string {
  const cells = Number.isFinite(width) ? Math.max(0, Math.floor(width)) : 0;
  const total = state.total !== undefined && Number.isFinite(state.total) && state.total > 0 ? state.total : undefined;
  const fraction = total === undefined ? undefined : Math.min(1, Math.max(0, state.bytes / total));

  const parts: string[] = [];
  if (fraction !== undefined) parts.push(`${String(Math.floor(fraction * 100)).padStart(3)}%`);
  parts.push(total === undefined ? formatBytes(state.bytes) : `${formatBytes(state.bytes)} / ${formatBytes(total)}`);
  if (state.rateBytesPerSec !== undefined && Number.isFinite(state.rateBytesPerSec)) parts.push(`${formatBytes(state.rateBytesPerSec)}/s`);
  if (state.etaSec !== undefined && Number.isFinite(state.etaSec)) parts.push(`ETA ${formatDuration(state.etaSec * 1000)}`);

  let text = parts.join('  ');
  while (text.length > cells && parts.length > 1) {
    parts.pop();
    text = parts.join('  ');
  }
  if (fraction !== undefined) {
    const barWidth = cells - text.length - 4; // "[", "]" and two spaces
    if (barWidth >= MIN_BAR_WIDTH) {
      const filled = Math.floor(fraction * barWidth);
      return `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]  ${text}`;
    }
  }
  return truncateToWidth(text, cells);
}
