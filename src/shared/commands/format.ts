/**
 * Rendering of structured command records for terminals (the console's xterm, the `lr` CLI, `> file`
 * redirects). Pure TypeScript: it also runs in the browser renderer.
 *
 * Every value that came from a device is untrusted: a file name or a command line can hold escape
 * sequences meant to drive the analyst's terminal. All renderers here pass values through
 * `escapeControlChars` (table) or `escapeJsonControlChars` (JSON) so that no control character reaches
 * the terminal as such.
 */

import { formatInstant, isIsoInstant } from '../time-format.js';

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
 * Text for a status line, a log field or a table cell: every run of whitespace (newlines included) becomes one
 * space, the ends are trimmed, and text longer than `max` characters ends with "…".
 */
export function oneLine(text: string, max = Number.MAX_SAFE_INTEGER): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
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
  [0x1100, 0x115f],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe30, 0xfe4f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x1f300, 0x1f64f],
  [0x1f680, 0x1f6ff],
  [0x1f900, 0x1f9ff],
  [0x20000, 0x3fffd],
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
  /**
   * Terminal width. To fit it, the columns that may be cut (ids, owners, states, descriptions) shrink first
   * and are cut with `…`; the columns that identify what was found (`WHOLE_COLUMNS`: paths, command lines,
   * names, hashes…) are never cut: their cells wrap onto continuation lines within their column.
   * Undefined: every column at its natural width (a file, a pipe).
   */
  maxWidth?: number;
  /** Headers and units for people (`rssBytes` → `rss` in KiB/MiB, `durationMs` → `duration` as `4m 05s`). */
  human?: boolean;
  /**
   * Numeric columns at least this wide: a stream planned from its first batch then still aligns a later
   * pid of 7 digits (a number is never cut, so a wider one would shift the columns after it).
   */
  numberWidth?: number;
  /** How times show (default: UTC with its zone). */
  formatTime?: TimeCellFormatter;
}

/**
 * Columns whose cells are never cut, whatever the width: an analyst acts on them (copies a path, reads a
 * command line, compares a hash), and a silently cut one can send the next action to the wrong target.
 */
export const WHOLE_COLUMNS: ReadonlySet<string> = new Set([
  'path',
  'name',
  'commandLine',
  'cmdline',
  'command',
  'args',
  'exec',
  'execStart',
  'image',
  'target',
  'key',
  'value',
  'data',
  'linkTarget',
  'savedAs',
  'unitPath',
  'source',
  'localAddress',
  'remoteAddress',
  'sha256',
  'sha1',
  'md5',
  'paths',
  'fingerprint',
]);

const COLUMN_GAP = '  ';
const MIN_COLUMN_WIDTH = 4;
/** Cut columns keep at least this much (or their natural width: a date, an id) before a whole column has to wrap. */
const SOFT_CUT_WIDTH = 20;
/** A whole column wraps at no less than this (narrower, a path becomes a column of fragments). */
const MIN_WRAP_WIDTH = 16;

function valueOf(record: object, column: string): unknown {
  return (record as Record<string, unknown>)[column];
}

function columnsOf(records: readonly object[]): string[] {
  const seen = new Set<string>();
  for (const record of records) for (const key of Object.keys(record)) seen.add(key);
  return [...seen];
}

/** Field units shown the human way, by field name. */
function humanUnit(column: string): 'bytes' | 'ms' | undefined {
  if (column === 'size' || column === 'bytes' || /[a-z]Bytes$/.test(column)) return 'bytes';
  if (/[a-z]Ms$/.test(column)) return 'ms';
  return undefined;
}

/** Widest `formatBytes` (`1023.9 KiB`) and `formatDuration` (`59.9 s`, `23h 59m`) texts. */
const HUMAN_BYTES_WIDTH = 10;
const HUMAN_MS_WIDTH = 7;

const HUMAN_HEADERS: Readonly<Record<string, string>> = {
  rssBytes: 'memory',
  cpuTimeMs: 'cpu time',
  durationMs: 'duration',
  ppid: 'ppid',
};

/** `rssBytes` → `memory`, `commandLine` → `command line`, `outputSize` → `output size`. */
export function humanHeader(column: string): string {
  const known = HUMAN_HEADERS[column];
  if (known) return known;
  const bare = column.replace(/(?<=[a-z])(Bytes|Ms)$/, '');
  return bare.replace(/(?<=[a-z0-9])([A-Z])/g, (c: string) => ` ${c.toLowerCase()}`);
}

/** One cell as a person reads it: sizes in binary units, durations as `850 ms` / `4m 05s`. */
function humanCell(column: string, value: unknown, formatTime: TimeCellFormatter): string {
  if (typeof value === 'number' && Number.isFinite(value)) {
    const unit = humanUnit(column);
    if (unit === 'bytes') return formatBytes(value);
    if (unit === 'ms') return formatDuration(value);
  }
  return formatCell(value, formatTime);
}

/**
 * How a table is laid out: columns, headers, widths, alignment, which columns wrap. A stream (findfile)
 * plans it from its first batch and renders every later batch with it, so the columns never jump.
 */
export interface TableLayout {
  readonly columns: readonly string[];
  readonly headers: readonly string[];
  readonly widths: readonly number[];
  readonly rightAligned: readonly boolean[];
  /** Cells of these columns are never cut: they wrap within the column's width. */
  readonly whole: readonly boolean[];
  /** Numbers and instants: never cut nor wrapped, their column keeps its natural width. */
  readonly fixed: readonly boolean[];
  readonly human: boolean;
  /** Room left for the last column (it is not padded, so it may use the rest of the line). */
  readonly lastRoom: number | undefined;
  /** How time cells show (the zone chosen in the workstation; UTC elsewhere). */
  readonly formatTime: TimeCellFormatter;
}

function sum(widths: readonly number[]): number {
  let total = 0;
  for (const w of widths) total += w;
  return total;
}

/** Largest common cap `C` in [low, high] with `total(C) <= budget`, or `low` when even `low` does not fit. */
function largestCap(low: number, high: number, total: (cap: number) => number, budget: number): number {
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (total(mid) <= budget) low = mid;
    else high = mid - 1;
  }
  return low;
}

/**
 * Column widths that fit `maxWidth`, in this order: cut columns shrink to a common cap (down to
 * `SOFT_CUT_WIDTH`); then whole columns wrap at a common cap (down to `MIN_WRAP_WIDTH`); then cut columns
 * shrink further (down to `MIN_COLUMN_WIDTH`). `fixed` columns (numbers, sizes: never cut) keep their
 * width. If even that is too wide, the line is longer than
 * `maxWidth` (the terminal wraps it): a whole column is still never cut.
 */
export function fitWidths(
  natural: readonly number[],
  whole: readonly boolean[],
  maxWidth: number | undefined,
  fixed: readonly boolean[] = [],
): number[] {
  const budget = (maxWidth ?? Infinity) - COLUMN_GAP.length * Math.max(0, natural.length - 1);
  if (maxWidth === undefined || !Number.isFinite(maxWidth) || sum(natural) <= budget) return [...natural];
  const widest = Math.max(0, ...natural);
  const capped = (cap: number, which: boolean, floor: number) => (w: number, i: number) =>
    whole[i] === which && fixed[i] !== true ? Math.min(w, Math.max(cap, floor)) : w;
  const cutAt = (cap: number, floor: number, widths: readonly number[]) => widths.map(capped(cap, false, floor));
  // 1. cut columns alone, not below SOFT_CUT_WIDTH
  const soft = largestCap(SOFT_CUT_WIDTH, widest, (cap) => sum(cutAt(cap, SOFT_CUT_WIDTH, natural)), budget);
  const afterSoft = cutAt(soft, SOFT_CUT_WIDTH, natural);
  if (sum(afterSoft) <= budget) return afterSoft;
  // 2. whole columns wrap, not below MIN_WRAP_WIDTH
  const wrapAt = (cap: number, widths: readonly number[]) => widths.map(capped(cap, true, MIN_WRAP_WIDTH));
  const wrap = largestCap(MIN_WRAP_WIDTH, widest, (cap) => sum(wrapAt(cap, afterSoft)), budget);
  const afterWrap = wrapAt(wrap, afterSoft);
  if (sum(afterWrap) <= budget) return afterWrap;
  // 3. cut columns down to MIN_COLUMN_WIDTH
  const hard = largestCap(MIN_COLUMN_WIDTH, widest, (cap) => sum(cutAt(cap, MIN_COLUMN_WIDTH, afterWrap)), budget);
  return cutAt(hard, MIN_COLUMN_WIDTH, afterWrap);
}

/**
 * Characters after which a wrapped cell prefers to break (path and argument boundaries). A space is a
 * break *before* it: at the end of a line it would be lost with the trailing blanks.
 */
const BREAK_AFTER = new Set(['/', '\\', ',', '=', ';', ':', '-']);

/**
 * Splits `text` into pieces of at most `width` cells whose concatenation is `text` (nothing dropped, so
 * the pieces joined give back the whole path). A piece ends after a `/`, `=`… or before a space when
 * one falls in its second half; a wide character never straddles a break.
 */
export function wrapToWidth(text: string, width: number): string[] {
  const w = Math.max(1, Math.floor(width));
  if (displayWidth(text) <= w) return [text];
  const chars = [...text];
  const pieces: string[] = [];
  let start = 0;
  while (start < chars.length) {
    let used = 0;
    let end = start;
    let lastBreak = -1;
    while (end < chars.length) {
      const ch = chars[end] as string;
      const cw = codePointWidth(ch.codePointAt(0) ?? 0, ch);
      if (used + cw > w && end > start) break;
      if (ch === ' ' && end > start) lastBreak = end;
      used += cw;
      end += 1;
      if (BREAK_AFTER.has(ch)) lastBreak = end;
    }
    if (end < chars.length && lastBreak > start && lastBreak - start >= Math.ceil((end - start) / 2)) end = lastBreak;
    pieces.push(chars.slice(start, end).join(''));
    start = end;
  }
  return pieces;
}

/** Plans the layout of `records` (see `TableLayout`); undefined when there is nothing to show. */
export function planTable(
  records: readonly object[],
  columns?: readonly string[],
  opts: TableOptions = {},
): TableLayout | undefined {
  if (records.length === 0) return undefined;
  const cols = columns ?? columnsOf(records);
  if (cols.length === 0) return undefined;
  const human = opts.human === true;
  const formatTime = opts.formatTime ?? utcTimeCell;
  const headers = cols.map((col) => escapeControlChars(human ? humanHeader(col) : col));
  const rightAligned = cols.map((col) => {
    let seen = false;
    for (const record of records) {
      const v = valueOf(record, col);
      if (v === null || v === undefined) continue;
      if (!isNumeric(v)) return false;
      seen = true;
    }
    return seen;
  });
  // A loop, not Math.max(...cells): a spread of 100 000+ rows overflows the call stack.
  const natural = cols.map((col, i) => {
    let widest = displayWidth(headers[i] ?? '');
    for (const record of records)
      widest = Math.max(widest, displayWidth(cellText(col, valueOf(record, col), human, formatTime)));
    // Room for any human size or duration, so that a later batch of a stream does not shift the columns.
    const unit = human ? humanUnit(col) : undefined;
    if (unit === 'bytes') return Math.max(widest, HUMAN_BYTES_WIDTH);
    if (unit === 'ms') return Math.max(widest, HUMAN_MS_WIDTH);
    return rightAligned[i] ? Math.max(widest, opts.numberWidth ?? 0) : widest;
  });
  const whole = cols.map((col) => WHOLE_COLUMNS.has(col));
  // Numbers and instants keep their width: a cut time (`2026-12-05 13:05…`) is as wrong as a cut number.
  const fixed = cols.map((col, i) => rightAligned[i] === true || isTimeColumn(records, col));
  const widths = fitWidths(natural, whole, opts.maxWidth, fixed);
  const maxWidth = opts.maxWidth !== undefined && Number.isFinite(opts.maxWidth) ? opts.maxWidth : undefined;
  const before = sum(widths.slice(0, -1)) + COLUMN_GAP.length * (widths.length - 1);
  const lastRoom = maxWidth === undefined ? undefined : Math.max(widths[widths.length - 1] ?? 0, maxWidth - before);
  return { columns: cols, headers, widths, rightAligned, whole, fixed, human, lastRoom, formatTime };
}

/** Every value of the column is an ISO instant (shown as a date, a time and a zone). */
function isTimeColumn(records: readonly object[], column: string): boolean {
  let seen = false;
  for (const record of records) {
    const v = valueOf(record, column);
    if (v === null || v === undefined || v === '') continue;
    if (typeof v !== 'string' || !isIsoInstant(v)) return false;
    seen = true;
  }
  return seen;
}

function cellText(column: string, value: unknown, human: boolean, formatTime: TimeCellFormatter): string {
  return human ? humanCell(column, value, formatTime) : formatCell(value, formatTime);
}

/** The header line and the dashed rule of a layout. */
export function renderTableHeader(layout: TableLayout): [string, string] {
  const headers = layout.headers.map((h, i) => [truncateToWidth(h, layout.widths[i] ?? 0)]);
  return [renderLine(layout, headers), layout.widths.map((w) => '-'.repeat(w)).join(COLUMN_GAP)];
}

/** The lines of `records` in `layout`: one per record, more when a whole column wraps. */
export function renderTableRows(layout: TableLayout, records: readonly object[]): string[] {
  const lines: string[] = [];
  const last = layout.columns.length - 1;
  for (const record of records) {
    const pieces = layout.columns.map((col, i) => {
      const text = cellText(col, valueOf(record, col), layout.human, layout.formatTime);
      const room = i === last && layout.lastRoom !== undefined ? layout.lastRoom : (layout.widths[i] ?? 0);
      // Without a width (a file, a pipe) nothing is cut or wrapped: a longer cell just makes a longer line.
      if (layout.lastRoom === undefined || displayWidth(text) <= room || layout.rightAligned[i] || layout.fixed[i])
        return [text];
      return layout.whole[i] ? wrapToWidth(text, room) : [truncateToWidth(text, room)];
    });
    renderLines(layout, pieces, lines);
  }
  return lines;
}

function renderLine(layout: TableLayout, pieces: readonly (readonly string[])[]): string {
  const out: string[] = [];
  renderLines(layout, pieces, out);
  return out.join('\n');
}

/** One record's lines: line k shows the k-th piece of every cell (blank where a cell has fewer). */
function renderLines(layout: TableLayout, pieces: readonly (readonly string[])[], out: string[]): void {
  let height = 1;
  for (const cell of pieces) height = Math.max(height, cell.length);
  for (let k = 0; k < height; k += 1) {
    out.push(
      pieces
        .map((cell, i) => {
          const text = cell[k] ?? '';
          const width = layout.widths[i] ?? 0;
          return layout.rightAligned[i] ? padStart(text, width) : padEnd(text, width);
        })
        .join(COLUMN_GAP)
        .trimEnd(),
    );
  }
}

/**
 * A text table: header, a dashed rule, one line per record (more when a path or command line wraps).
 * Numeric columns are right-aligned; lines have no trailing spaces and are joined with `\n` (no final
 * newline). No records → empty string.
 */
export function renderTable(records: readonly object[], columns?: readonly string[], opts: TableOptions = {}): string {
  const layout = planTable(records, columns, opts);
  if (!layout) return '';
  return [...renderTableHeader(layout), ...renderTableRows(layout, records)].join('\n');
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
  if (state.rateBytesPerSec !== undefined && Number.isFinite(state.rateBytesPerSec))
    parts.push(`${formatBytes(state.rateBytesPerSec)}/s`);
  if (state.etaSec !== undefined && Number.isFinite(state.etaSec))
    parts.push(`ETA ${formatDuration(state.etaSec * 1000)}`);

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
